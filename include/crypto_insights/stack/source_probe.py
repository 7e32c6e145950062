"""Is the configured exchange reachable? The demo lands live data when it is, simulated data when not."""

from __future__ import annotations

import requests

from crypto_insights.config import Settings


def exchange_reachable(settings: Settings, timeout_s: float = 3.0) -> tuple[bool, str]:
    url = f"{settings.exchange.api_url}/products/{settings.product_ids[0]}"
    try:
        response = requests.get(url, headers={"User-Agent": settings.exchange.user_agent}, timeout=timeout_s)
    except requests.RequestException as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return response.ok, f"HTTP {response.status_code}"

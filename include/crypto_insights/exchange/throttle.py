"""Coinbase's public rate limit, server side: a lazy-fill token bucket per client IP (10 req/s, burst 15)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

PUBLIC_RATE_LIMIT = 10.0  # requests per second per IP
PUBLIC_BURST = 15


class ClientThrottle:
    """``allow(ip)`` takes a token from that IP's bucket; refused requests take none. ``rate=None``: no limit."""

    def __init__(
        self,
        rate: float | None = PUBLIC_RATE_LIMIT,
        burst: int | None = PUBLIC_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate limit must be > 0 requests/s (or None for no limit), got {rate}")
        self.rate = rate
        self.burst = float(burst if burst is not None else max(1.0, rate or 1.0))
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str) -> bool:
        if self.rate is None:
            return True
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        return allowed

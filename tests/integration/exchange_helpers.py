"""Shared helpers of the offline-exchange tests: wire-format patterns, book fetching and parsing."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

from crypto_insights.config import Settings, load_settings

BOOK_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
TICKER_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
PLAIN_NUMBER = re.compile(r"^(0|[1-9]\d*)(\.\d*[1-9])?$")  # no exponent, no padding zeros


def small_settings(levels_per_side: int = 1500, products: tuple[str, ...] | None = None) -> Settings:
    """The project's settings with smaller simulated books (for tests that walk many steps)."""
    settings = load_settings()
    symbols = tuple(
        dataclasses.replace(s, simulated_levels_per_side=levels_per_side)
        for s in settings.symbols
        if products is None or s.product_id in products
    )
    return dataclasses.replace(settings, symbols=symbols)


def get_book(http, exchange, product: str, level: int = 2) -> dict:
    response = http.get(f"{exchange.url}/products/{product}/book", params={"level": level})
    assert response.status_code == 200, response.text[:200]
    return response.json()


def levels(rows: list[list]) -> list[tuple[Decimal, Decimal, int]]:
    return [(Decimal(p), Decimal(s), n) for p, s, n in rows]


def mid_of(book: dict) -> Decimal:
    return (Decimal(book["bids"][0][0]) + Decimal(book["asks"][0][0])) / 2

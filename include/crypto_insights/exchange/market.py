"""Generated mode: every configured product's book and ticker, evolving deterministically per request.

Stepping rule: the n-th book response of a product (n = 0, 1, ...; any level) shows the book after n steps
(``SimulatedBook.at_step(symbol, seed, n)``); a request answered by a fault without a body (429, 5xx, reset)
does not step. The ticker shows the book's current state (the last served book; the seeded one before any),
with its own seeded stream for trade ids, sizes and the 24 h volume, so tickers never disturb the books.
``sequence`` and ``time`` strictly increase per product; ``time`` is the wall clock (kept strictly increasing).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from crypto_insights.config import Settings, SymbolSettings
from crypto_insights.exchange.book_model import SimulatedBook
from crypto_insights.exchange.catalog import product_object
from crypto_insights.exchange.payload import Payload
from crypto_insights.exchange.sizes import MEDIAN_NOTIONAL_SHARE_OF_WHALE_FLOOR
from crypto_insights.exchange.wire import Scale, dumps, iso_time

DAILY_VOLUME_MEDIANS = 160_000  # 24 h volume ≈ this many median level notionals (BTC-USD: ~$400M)
RFQ_SHARE = 0.006


class StrictClock:
    """Wall-clock nanoseconds, strictly increasing at the given resolution (1 ns for books, 1 µs for tickers)."""

    def __init__(self, resolution_ns: int = 1) -> None:
        self.resolution = resolution_ns
        self.last = 0

    def next(self) -> int:
        now = time.time_ns() // self.resolution * self.resolution
        self.last = max(now, self.last + self.resolution)
        return self.last


@dataclass
class TickerState:
    rng: random.Random
    trade_id: int
    volume_units: int
    clock: StrictClock = field(default_factory=lambda: StrictClock(1000))


class GeneratedProduct:
    """One product: its book (built on first use), ticker state, and a lock around both."""

    def __init__(self, symbol: SymbolSettings, seed: int) -> None:
        self.symbol, self.seed = symbol, seed
        self.lock = threading.Lock()
        self._book: SimulatedBook | None = None
        self.books_served = 0
        self.book_clock = StrictClock()
        rng = random.Random(f"{seed}:{symbol.product_id}:ticker")
        daily = symbol.whale_floor_usd * MEDIAN_NOTIONAL_SHARE_OF_WHALE_FLOOR * DAILY_VOLUME_MEDIANS
        volume = Scale(symbol.base_increment).units(daily / symbol.simulated_start_price)
        self.ticker_state = TickerState(rng, rng.randrange(10**8, 10**9), volume)
        self.product_body = dumps(product_object(symbol)).encode()

    @property
    def book(self) -> SimulatedBook:
        if self._book is None:
            self._book = SimulatedBook(self.symbol, self.seed)
        return self._book

    def next_book(self, level: int) -> Payload:
        with self.lock:
            book = self.book
            if self.books_served:
                book.step()
            self.books_served += 1
            bids, asks = book.bids.rows, book.asks.rows
            fragments = {
                "bids": list(bids) if level == 2 else bids[:1],
                "asks": list(asks) if level == 2 else asks[:1],
                "sequence": str(book.sequence),
                "auction_mode": "false",
                "auction": "null",
                "time": f'"{iso_time(self.book_clock.next())}"',
            }
        return Payload("book", self.symbol.product_id, fragments=fragments, tick=self.symbol.quote_increment,
                       level=level)  # fmt: skip

    def next_ticker(self) -> Payload:
        with self.lock:
            book, state = self.book, self.ticker_state
            rng = state.rng
            state.trade_id += rng.randint(1, 40)
            state.volume_units = max(1, round(state.volume_units * math.exp(rng.gauss(0.0, 0.002))))
            median = book.sizes.median_units
            size = max(1, int(median / 8 * math.exp(rng.gauss(0.0, 1.3))))
            at_ask = rng.random() < 0.5
            prices, sizes = book.price_scale, book.size_scale
            bid, ask = book.bids.touch_tick, book.asks.touch_tick
            fragments = {
                "ask": f'"{prices.text(ask)}"',
                "bid": f'"{prices.text(bid)}"',
                "volume": f'"{sizes.text(state.volume_units)}"',
                "trade_id": str(state.trade_id),
                "price": f'"{prices.text(ask if at_ask else bid)}"',
                "size": f'"{sizes.text(size)}"',
                "time": f'"{iso_time(state.clock.next(), 6)}"',
                "rfq_volume": f'"{sizes.text(max(1, round(state.volume_units * RFQ_SHARE)))}"',
            }
        return Payload("ticker", self.symbol.product_id, fragments=fragments, tick=self.symbol.quote_increment)


class GeneratedMarket:
    mode = "generated"

    def __init__(self, settings: Settings, seed: int) -> None:
        self.seed = seed
        self.products = {s.product_id: GeneratedProduct(s, seed) for s in settings.symbols}

    @property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(self.products)

    def __iter__(self) -> Iterator[GeneratedProduct]:
        return iter(self.products.values())

    def products_payload(self) -> Payload:
        body = b"[" + b",".join(p.product_body for p in self.products.values()) + b"]"
        return Payload("products", raw=body)

    def product_payload(self, product_id: str) -> Payload | None:
        product = self.products.get(product_id)
        if product is None:
            return None
        return Payload("product", product_id, raw=product.product_body, tick=product.symbol.quote_increment)

    def book_payload(self, product_id: str, level: int) -> Payload | None:
        product = self.products.get(product_id)
        return None if product is None else product.next_book(level)

    def ticker_payload(self, product_id: str) -> Payload | None:
        product = self.products.get(product_id)
        return None if product is None else product.next_ticker()

    def steps(self) -> dict[str, int]:
        """Book responses served per product (the next book response shows the book after this many steps)."""
        return {pid: p.books_served for pid, p in self.products.items()}

    def book(self, product_id: str) -> SimulatedBook:
        """The live model of a product (read it only while no request is being served)."""
        return self.products[product_id].book


def tick_of(product: dict[str, object]) -> Decimal | None:
    try:
        return Decimal(str(product["quote_increment"]))
    except (KeyError, ArithmeticError, ValueError):
        return None

"""Generated mode: every configured product's book, ticker and trade tape, evolving deterministically.

Stepping rule: the n-th book response of a product (n = 0, 1, ...; any level) shows the book after n steps
(``SimulatedBook.at_step(symbol, seed, n)``); a request answered by a fault without a body (429, 5xx, reset)
does not step. The ticker shows the book's current state (the last served book; the seeded one before any),
with its own seeded stream for trade ids, sizes and the 24 h volume, so tickers never disturb the books.
``sequence`` and ``time`` strictly increase per product; ``time`` is the wall clock (kept strictly increasing).

The trade tape (:mod:`tape`) runs on the wall clock: before a book response, and before the tape, stats or
candles are read, the takers due by then walk the book as last served (what they took stays taken until the next
book response); the book response at ``time`` then shows the next step. Stats and candles come from the tape
(:mod:`candles`).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from crypto_insights.config import Settings, SymbolSettings
from crypto_insights.exchange.book_model import SimulatedBook
from crypto_insights.exchange.candles import candle_rows, candle_window, granularity_of, stats_body
from crypto_insights.exchange.catalog import currencies_of, product_object
from crypto_insights.exchange.payload import Payload
from crypto_insights.exchange.sizes import daily_notional
from crypto_insights.exchange.tape import DEFAULT_RETENTION_S, NS, Tape
from crypto_insights.exchange.wire import Scale, dumps, iso_time

RFQ_SHARE = 0.006
Clock = Callable[[], int]  # epoch nanoseconds


class StrictClock:
    """Wall-clock nanoseconds, strictly increasing at the given resolution (1 ns for books, 1 µs for tickers)."""

    def __init__(self, resolution_ns: int = 1, clock: Clock = time.time_ns) -> None:
        self.resolution = resolution_ns
        self.clock = clock
        self.last = 0

    def next(self) -> int:
        now = self.clock() // self.resolution * self.resolution
        self.last = max(now, self.last + self.resolution)
        return self.last


@dataclass
class TickerState:
    rng: random.Random
    trade_id: int
    volume_units: int
    clock: StrictClock = field(default_factory=lambda: StrictClock(1000))


class GeneratedProduct:
    """One product: its book (built on first use), ticker state, trade tape, and a lock around them."""

    def __init__(
        self,
        symbol: SymbolSettings,
        seed: int,
        clock: Clock = time.time_ns,
        retention_s: float = DEFAULT_RETENTION_S,
        history_s: float = 0.0,
    ) -> None:
        self.symbol, self.seed = symbol, seed
        self.lock = threading.Lock()
        self._book: SimulatedBook | None = None
        self.books_served = 0
        self.clock = clock
        self.book_clock = StrictClock(clock=clock)
        # a market trading for history_s before it opened to us: the first request meets that many seconds of prints
        self.tape = Tape(symbol, seed, clock() - round(history_s * 1e9), retention_s)
        rng = random.Random(f"{seed}:{symbol.product_id}:ticker")
        volume = Scale(symbol.base_increment).units(daily_notional(symbol) / symbol.simulated_start_price)
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
            now = self.book_clock.next()
            self.tape.advance(book, now)  # the takers due by now meet the book as last served
            if self.books_served:
                book.step()
            self.tape.book_served()
            self.books_served += 1
            bids, asks = book.bids.rows, book.asks.rows
            fragments = {
                "bids": list(bids) if level == 2 else bids[:1],
                "asks": list(asks) if level == 2 else asks[:1],
                "sequence": str(book.sequence),
                "auction_mode": "false",
                "auction": "null",
                "time": f'"{iso_time(now)}"',
            }
        return Payload(
            "book", self.symbol.product_id, fragments=fragments, tick=self.symbol.quote_increment, level=level
        )

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

    def _advanced(self) -> tuple[Tape, int]:
        """The tape made up to now (call with the lock held)."""
        now = self.clock()
        self.tape.advance(self.book, now)
        return self.tape, max(now, self.tape.until_ns)

    def trades_page(self, limit: int, after: int | None, before: int | None) -> Payload:
        with self.lock:
            rows, headers = self._advanced()[0].page(limit, after, before)
        return Payload("trades", self.symbol.product_id, rows=rows, headers=headers, tick=self.symbol.quote_increment)

    def prints(self, after_id: int | None = None) -> list[dict[str, object]]:
        with self.lock:
            return self._advanced()[0].prints(after_id)

    def stats(self) -> Payload:
        with self.lock:
            tape, now = self._advanced()
            body = stats_body(tape, self.book.start_ticks, now)
        return Payload("stats", self.symbol.product_id, raw=body, tick=self.symbol.quote_increment)

    def candles(self, granularity: str | None, start: str | None, end: str | None) -> Payload:
        seconds = granularity_of(granularity)
        with self.lock:
            tape, now = self._advanced()
            first, last = candle_window(seconds, start, end, now / NS)
            rows = candle_rows(tape, seconds, first, last)
        return Payload("candles", self.symbol.product_id, rows=rows, tick=self.symbol.quote_increment)


class GeneratedMarket:
    mode = "generated"

    def __init__(
        self,
        settings: Settings,
        seed: int,
        clock: Clock = time.time_ns,
        retention_s: float = DEFAULT_RETENTION_S,
        history_s: float = 0.0,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.products = {
            s.product_id: GeneratedProduct(s, seed, clock, retention_s, history_s) for s in settings.symbols
        }
        pairs = [(s.base_currency, s.quote_currency) for s in settings.symbols]
        self.currencies = {c["id"]: dumps(c).encode() for c in currencies_of(pairs)}

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

    def trades_payload(self, product_id: str, limit: int, after: int | None, before: int | None) -> Payload | None:
        product = self.products.get(product_id)
        return None if product is None else product.trades_page(limit, after, before)

    def stats_payload(self, product_id: str) -> Payload | None:
        product = self.products.get(product_id)
        return None if product is None else product.stats()

    def candles_payload(
        self, product_id: str, granularity: str | None, start: str | None, end: str | None
    ) -> Payload | None:
        product = self.products.get(product_id)
        return None if product is None else product.candles(granularity, start, end)

    def currencies_payload(self, code: str | None = None) -> Payload | None:
        if code is None:
            return Payload("currencies", rows=[body.decode() for body in self.currencies.values()])
        body = self.currencies.get(code)
        return None if body is None else Payload("currency", raw=body)

    def trades(self, product_id: str, after_id: int | None = None) -> list[dict[str, object]]:
        """Every print the exchange made for ``product_id`` and still keeps (newer than ``after_id``), oldest
        first, each as its wire row decodes (``trade_id`` int; ``side``, ``size``, ``price``, ``time`` strings)."""
        return self.products[product_id].prints(after_id)

    def trades_made(self) -> dict[str, int]:
        """Prints made per product so far (as of the last request that advanced its tape)."""
        return {pid: p.tape.record.made for pid, p in self.products.items()}

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

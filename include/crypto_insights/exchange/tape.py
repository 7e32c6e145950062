"""The trade tape of a generated product: taker orders that walk the live book, and the record of their prints.

Taker (market) orders arrive as a Poisson process in wall-clock time, switching between a calm regime and bursts
(ten times the rate for a few seconds, the takers mostly on one side), at a rate per coin that grows with its
modelled daily notional (BTC-USD ~4 takers/s, ETH-USD ~2.5, the small coins ~0.8). Their notionals are
heavy-tailed: log-normal around a median of ~$100, a Pareto tail, and one in a thousand a whale (the coin's
``whale_trade_floor_usd`` to four times it); together they trade about the coin's modelled daily notional.

A taker buy walks the asks from the best up, a taker sell the bids from the best down: one print per level
touched, at that level's price, never more than rests there. ``side`` is the maker's side (a taker buy makes
``"sell"`` prints). What takers take is kept beside the served book (``consumed``): the next taker finds the level
thinner, or gone and walks on, until makers refill it (``REFILL_S``) or the next book response is served (each
book response is a fresh state, still exactly ``SimulatedBook.at_step(symbol, seed, n)``). A whale meets a large
resting order at the touch: one print for its whole size, at the best price, the level's shown size consumed.

Everything random comes from one ``random.Random`` seeded by (seed, product), drawn in a fixed order that never
depends on the book, so the orders (when, which side, how much) are the same in every run; the prices they print
at depend on the book state they meet, i.e. on when books were requested. Arrival times are offsets from the
tape's start (``t0_ns``); the tape is generated lazily, up to the time a request asks for.

The record keeps every print of the last ``retention_s`` (default 24 h; at most ``MAX_PRINTS``) in flat arrays
(~25 bytes a print), trade ids gap-free and increasing, and pages it as Coinbase does: newest first;
``after=<id>`` the prints older than id, ``before=<id>`` the prints newer than id (the ``limit`` nearest the
cursor); what is past the horizon is no longer served (an empty page).
"""

from __future__ import annotations

import math
import random
import time
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from crypto_insights.config import SymbolSettings
from crypto_insights.exchange.book_model import SimulatedBook
from crypto_insights.exchange.sizes import daily_notional
from crypto_insights.exchange.wire import Scale

NS = 1_000_000_000
DEFAULT_RETENTION_S = 86_400
MAX_PRINTS = 2_000_000  # per product, whatever the retention
MAX_LIMIT = 1000  # Coinbase's largest page, and its default
TRADE_DECIMALS = 8  # Coinbase pads trade prices and sizes to 8 decimals: "63212.97000000"

REFERENCE_DAILY_NOTIONAL = 400e6  # BTC-USD's modelled daily notional...
REFERENCE_TAKERS_PER_S = 4.0  # ...and its mean taker rate; other coins scale with (daily notional) ** 0.7
RATE_EXPONENT = 0.7
CALM_MEAN_S, BURST_MEAN_S, BURST_FACTOR = 45.0, 4.0, 10.0  # regime lengths (exponential) and the burst rate
CALM_SAME_SIDE_P, BURST_SAME_SIDE_P = 0.55, 0.85  # a taker is on the previous taker's side with this probability
LOGNORMAL_SIGMA = 1.7
TAIL_P, TAIL_FROM, TAIL_ALPHA = 0.034, 20.0, 1.6  # Pareto tail: from 20x the median notional
WHALE_P, WHALE_MAX_FACTOR = 0.001, 4.0  # whales: the whale-trade floor x log-uniform(1, 4)
REFILL_S = 2.0  # makers re-quote a consumed level this long after its last fill
MAX_LEVELS_WALKED = 1000
EVICT_BATCH = 4096  # prints past the horizon are dropped from the arrays in batches (pages skip them at once)


@dataclass(frozen=True)
class TakerFlow:
    """How a coin's takers arrive and how much they trade (derived from the symbol's config)."""

    takers_per_s: float  # mean over calm and bursts
    median_notional: float  # quote currency
    whale_notional: float  # the whale-trade floor

    @classmethod
    def for_symbol(cls, symbol: SymbolSettings) -> TakerFlow:
        daily = float(daily_notional(symbol))
        rate = REFERENCE_TAKERS_PER_S * (daily / REFERENCE_DAILY_NOTIONAL) ** RATE_EXPONENT
        mean = daily / (rate * 86_400)
        whale = float(symbol.whale_trade_floor_usd)
        whale_mean = whale * (WHALE_MAX_FACTOR - 1) / math.log(WHALE_MAX_FACTOR)
        per_median = (1 - TAIL_P - WHALE_P) * math.exp(LOGNORMAL_SIGMA**2 / 2) + TAIL_P * TAIL_FROM * TAIL_ALPHA / (
            TAIL_ALPHA - 1
        )
        return cls(rate, max(5.0, (mean - WHALE_P * whale_mean) / per_median), whale)

    @property
    def calm_rate(self) -> float:
        """Takers/s outside bursts, so that the mean over both regimes is ``takers_per_s``."""
        burst_share = BURST_MEAN_S / (BURST_MEAN_S + CALM_MEAN_S)
        return self.takers_per_s / (1 - burst_share + burst_share * BURST_FACTOR)


@dataclass(frozen=True)
class TakerOrder:
    at_s: float  # seconds after the tape's start
    buy: bool
    notional: float  # quote currency
    whale: bool


class OrderStream:
    """The seeded sequence of taker orders: a calm/burst Markov-modulated Poisson process."""

    def __init__(self, flow: TakerFlow, rng: random.Random) -> None:
        self.flow, self.rng = flow, rng
        self.burst = False
        self.regime_end = rng.expovariate(1 / CALM_MEAN_S)
        self.buy = rng.random() < 0.5
        self.next_at = self._arrival(0.0)

    def _arrival(self, after: float) -> float:
        rng, t = self.rng, after
        while True:
            rate = self.flow.calm_rate * (BURST_FACTOR if self.burst else 1.0)
            at = t + rng.expovariate(rate)
            if at <= self.regime_end:
                return at
            t, self.burst = self.regime_end, not self.burst  # memoryless: draw again from the switch
            self.regime_end = t + rng.expovariate(1 / (BURST_MEAN_S if self.burst else CALM_MEAN_S))

    def pop(self) -> TakerOrder:
        rng, flow = self.rng, self.flow
        if rng.random() >= (BURST_SAME_SIDE_P if self.burst else CALM_SAME_SIDE_P):
            self.buy = not self.buy
        u = rng.random()
        if u < WHALE_P:
            notional = flow.whale_notional * math.exp(rng.uniform(0.0, math.log(WHALE_MAX_FACTOR)))
        elif u < WHALE_P + TAIL_P:
            tail = flow.median_notional * TAIL_FROM * (1.0 - rng.random()) ** (-1.0 / TAIL_ALPHA)
            notional = min(tail, flow.whale_notional)
        else:
            notional = flow.median_notional * math.exp(rng.gauss(0.0, LOGNORMAL_SIGMA))
        order = TakerOrder(self.next_at, self.buy, max(1.0, notional), u < WHALE_P)
        self.next_at = self._arrival(self.next_at)
        return order


class TradeRecord:
    """Every print kept (oldest first) as flat arrays; index ``i`` holds trade id ``first_id + i``."""

    def __init__(self, first_id: int, retention_ns: int, max_prints: int = MAX_PRINTS) -> None:
        self.first_id = first_id
        self.retention_ns, self.max_prints = retention_ns, max_prints
        self.times = array("q")  # epoch ns
        self.prices = array("q")  # ticks (quote increments)
        self.sizes = array("q")  # base increments
        self.sides = bytearray()  # the maker's side: b"b" buy, b"s" sell
        self.start = 0  # index of the oldest print still served (older ones await a batch eviction)
        self.total_units = 0  # the size of every print ever made
        self.made = 0  # prints ever made

    @property
    def next_id(self) -> int:
        return self.first_id + len(self.times)

    def __len__(self) -> int:
        return len(self.times) - self.start

    def append(self, time_ns: int, price: int, size: int, maker_side: int) -> None:
        self.times.append(time_ns)
        self.prices.append(price)
        self.sizes.append(size)
        self.sides.append(maker_side)
        self.total_units += size
        self.made += 1

    def expire(self, now_ns: int) -> None:
        """Forget the prints past the horizon (older than the retention, or beyond ``max_prints``)."""
        n = len(self.times)
        start = max(self.start, bisect_left(self.times, now_ns - self.retention_ns), n - self.max_prints)
        if start >= EVICT_BATCH:
            for column in (self.times, self.prices, self.sizes, self.sides):
                del column[:start]
            self.first_id += start
            start = 0
        self.start = start

    def index_at(self, time_ns: int) -> int:
        """Index of the first print served at or after ``time_ns``."""
        return max(self.start, bisect_left(self.times, time_ns))

    def page(self, limit: int, after: int | None = None, before: int | None = None) -> tuple[int, int]:
        """Indexes ``[lo, hi)`` of a page (served newest first); ``lo == hi`` when it is empty."""
        n = len(self.times)
        hi = n if after is None else max(self.start, min(n, after - self.first_id))
        lo = self.start if before is None else min(n, max(self.start, before + 1 - self.first_id))
        if hi <= lo:
            return lo, lo
        if before is not None and after is None:
            return lo, min(hi, lo + limit)
        return max(lo, hi - limit), hi

    def columns(self, lo: int, hi: int) -> tuple[int, array, array, array, bytes]:
        """A copy of ``[lo, hi)``: (first trade id, times, prices, sizes, maker sides)."""
        return (self.first_id + lo, self.times[lo:hi], self.prices[lo:hi], self.sizes[lo:hi], bytes(self.sides[lo:hi]))


def _iso_micros(epoch_ns: int, seconds_cache: dict[int, str]) -> str:
    seconds, nanos = divmod(epoch_ns, NS)
    text = seconds_cache.get(seconds)
    if text is None:
        text = seconds_cache[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{text}.{nanos // 1000:06d}Z"


def render_rows(columns: tuple[int, array, array, array, bytes], prices: Scale, sizes: Scale) -> list[str]:
    """Wire rows, newest first, in the order and format of Coinbase's: ``{"trade_id":1040406590,"side":"buy",
    "size":"0.00003219","price":"63212.97000000","time":"2026-06-19T16:43:33.739704Z"}``."""
    first_id, times, price_units, size_units, sides = columns
    cache: dict[int, str] = {}
    rows = []
    for i in range(len(times) - 1, -1, -1):
        side = "buy" if sides[i] == 98 else "sell"
        rows.append(
            f'{{"trade_id":{first_id + i},"side":"{side}","size":"{sizes.fixed(size_units[i])}",'
            f'"price":"{prices.fixed(price_units[i])}","time":"{_iso_micros(times[i], cache)}"}}'
        )
    return rows


def print_dicts(columns: tuple[int, array, array, array, bytes], prices: Scale, sizes: Scale) -> list[dict]:
    """The prints of ``columns`` as decoded JSON objects, oldest first (what the wire rows decode to)."""
    first_id, times, price_units, size_units, sides = columns
    cache: dict[int, str] = {}
    return [
        {
            "trade_id": first_id + i,
            "side": "buy" if sides[i] == 98 else "sell",
            "size": sizes.fixed(size_units[i]),
            "price": prices.fixed(price_units[i]),
            "time": _iso_micros(times[i], cache),
        }
        for i in range(len(times))
    ]


class Tape:
    """One product's takers and prints; call :meth:`advance` (under the product's lock) before reading."""

    def __init__(self, symbol: SymbolSettings, seed: int, t0_ns: int, retention_s: float = DEFAULT_RETENTION_S):
        self.symbol, self.t0_ns = symbol, t0_ns
        rng = random.Random(f"{seed}:{symbol.product_id}:tape")
        first_id = rng.randrange(10**8, 10**9)
        self.flow = TakerFlow.for_symbol(symbol)
        self.orders = OrderStream(self.flow, rng)
        self.record = TradeRecord(first_id, int(retention_s * NS))
        self.prices, self.sizes = Scale(symbol.quote_increment), Scale(symbol.base_increment)
        self._tick, self._step = float(symbol.quote_increment), float(symbol.base_increment)
        # what takers took since the last book response, per side: key -> (units taken, ns of the last fill)
        self.consumed: dict[str, dict[int, tuple[int, int]]] = {"bids": {}, "asks": {}}
        self.until_ns = t0_ns  # the tape is made up to here
        self.takers = 0

    def advance(self, book: SimulatedBook, now_ns: int) -> None:
        """Let the takers due by ``now_ns`` walk ``book`` (as it stands, minus what earlier takers took)."""
        due = (now_ns - self.t0_ns) / NS
        orders = self.orders
        while orders.next_at <= due:
            self._execute(book, orders.pop())
        if now_ns > self.until_ns:
            self.until_ns = now_ns
        self.record.expire(now_ns)

    def book_served(self) -> None:
        """A book response shows a fresh state: makers have re-quoted what takers took."""
        for taken in self.consumed.values():
            taken.clear()

    def _execute(self, book: SimulatedBook, order: TakerOrder) -> None:
        side = book.asks if order.buy else book.bids
        consumed = self.consumed[side.name]
        at_ns = self.t0_ns + round(order.at_s * NS)
        maker_side = 115 if order.buy else 98  # a taker buy lifts asks: the maker sold (b"s"), else bought (b"b")
        keys, rows, parse, record = side.keys, side.rows, self.sizes.parse, self.record
        remaining = -1
        for i in range(min(len(keys), MAX_LEVELS_WALKED)):
            key = keys[i]
            shown = parse(rows[i].split('"', 4)[3])  # ["price","size",orders]
            taken, last = consumed.get(key, (0, 0))
            if taken and at_ns - last >= REFILL_S * NS:
                taken = 0
            free = shown - taken
            if free <= 0:
                continue
            tick = side.direction * key
            if remaining < 0:  # the order's size, at the price it meets first
                remaining = max(1, int(order.notional / (tick * self._tick) / self._step))
            fill = remaining if order.whale else min(free, remaining)
            consumed[key] = (taken + min(fill, free), at_ns)
            record.append(at_ns, tick, fill, maker_side)
            remaining -= fill
            if remaining <= 0:
                break
        self.takers += 1

    # -- reading (after advance) ---------------------------------------------------------------------------------

    def page(self, limit: int, after: int | None, before: int | None) -> tuple[list[str], dict[str, str]]:
        """Wire rows of a page, newest first, and its ``CB-BEFORE`` / ``CB-AFTER`` headers (none when empty)."""
        lo, hi = self.record.page(limit, after, before)
        rows = render_rows(self.record.columns(lo, hi), self.prices, self.sizes)
        if not rows:
            return rows, {}
        return rows, {"CB-BEFORE": str(self.record.first_id + hi - 1), "CB-AFTER": str(self.record.first_id + lo)}

    def prints(self, after_id: int | None = None) -> list[dict[str, Any]]:
        """Every print kept (newer than ``after_id``), oldest first, as the wire rows decode."""
        record = self.record
        lo = (
            record.start
            if after_id is None
            else max(record.start, min(len(record.times), after_id + 1 - record.first_id))
        )
        return print_dicts(record.columns(lo, len(record.times)), self.prices, self.sizes)

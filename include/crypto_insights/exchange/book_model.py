"""A deterministic, evolving, full-size order book for one product, calibrated to Coinbase's real ones.

Prices live on integer ticks (`quote_increment`), sizes on integer units (`base_increment`), so the book is exact
and fast to evolve. Each `step()` moves the mid by a random walk, lets the touch follow it (levels crossing the
mid vanish, the side it moves into re-densifies), resamples a few sizes, and lets whale walls appear, persist
and vanish. The same seed gives the same sequence of books.

Shape of a side (BTC-USD, ~22k levels): one-tick gaps at the touch, gaps that grow away from mid, a quarter of
the levels within 5 % of mid and the rest spread far out; heavy-tailed (log-normal) sizes with dust and repeated
bot-ladder sizes.
"""

from __future__ import annotations

import random
import zlib
from bisect import bisect_left
from dataclasses import dataclass, field
from decimal import Decimal

from crypto_insights.config import SymbolSettings
from crypto_insights.exchange.wire import plain

NEAR_SHARE = 0.25  # share of a side's levels within NEAR_BAND of mid
NEAR_BAND = 0.05
FAR_BID, FAR_ASK = 0.9, 4.0  # how far the deepest bid / ask sits, as a fraction of mid
DUST_SHARE, LADDER_SHARE = 0.08, 0.15
RESAMPLE_SHARE = 0.03
MID_STEP_BPS = 1.5  # standard deviation of the mid's move per step
WALL_SPAWN_P = 0.15


@dataclass
class Wall:
    side: str
    tick: int
    units: int
    steps_left: int


@dataclass
class Side:
    ticks: list[int]  # best first: bids descending, asks ascending
    units: list[int]
    orders: list[int]


@dataclass
class SimulatedBook:
    symbol: SymbolSettings
    seed: int
    bids: Side = field(init=False)
    asks: Side = field(init=False)
    walls: list[Wall] = field(default_factory=list)
    step_count: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(zlib.crc32(f"{self.seed}:{self.symbol.product_id}".encode()))
        self.tick = self.symbol.quote_increment
        self.unit = self.symbol.base_increment
        mid_ticks = int(self.symbol.simulated_start_price / self.tick)
        self.levels = self.symbol.simulated_levels_per_side
        median_notional = float(self.symbol.whale_floor_usd) / 200
        self.median_units = max(1, int(median_notional / float(self.symbol.simulated_start_price) / float(self.unit)))
        self.ladder = [max(1, int(self.median_units * f)) for f in (0.1, 0.25, 0.5, 1.0, 2.0)]
        best_bid = mid_ticks
        self.bids = self._fresh_side(best_bid, -1)
        self.asks = self._fresh_side(best_bid + 1, +1)
        self._price_cache: dict[int, str] = {}
        self._size_cache: dict[int, str] = {}

    # -- generation ----------------------------------------------------------------------------------------------
    def _size(self) -> int:
        u = self.rng.random()
        if u < DUST_SHARE:
            return self.rng.randint(1, 1000) if self.median_units > 10_000 else 1
        if u < DUST_SHARE + LADDER_SHARE:
            return self.rng.choice(self.ladder)
        return max(1, int(self.median_units * self.rng.lognormvariate(0.0, 1.6)))

    def _orders(self) -> int:
        return 1 + int(self.rng.expovariate(0.7))

    def _fresh_side(self, best: int, direction: int) -> Side:
        """Level distances from quantiles: dense at the touch, a quarter within 5 %, the rest far out."""
        far = FAR_BID if direction < 0 else FAR_ASK
        mid = best
        ticks: list[int] = []
        last = None
        for i in range(self.levels):
            u = (i + self.rng.random()) / self.levels
            if u < NEAR_SHARE:
                frac = NEAR_BAND * (u / NEAR_SHARE) ** 2
            else:
                frac = NEAR_BAND + (far - NEAR_BAND) * ((u - NEAR_SHARE) / (1 - NEAR_SHARE)) ** 1.5
            tick = best + direction * int(frac * mid)
            if last is not None and (tick - last) * direction < 1:
                tick = last + direction
            if tick <= 0:
                break
            ticks.append(tick)
            last = tick
        return Side(ticks, [self._size() for _ in ticks], [self._orders() for _ in ticks])

    def _dense_levels(self, start: int, stop: int, direction: int) -> list[int]:
        """New levels from `start` (inclusive) towards `stop` (exclusive) with the touch's small gaps."""
        ticks, tick = [], start
        while (stop - tick) * direction > 0:
            ticks.append(tick)
            tick += direction * (1 + int(self.rng.expovariate(1.0)))
        return ticks

    # -- evolution -----------------------------------------------------------------------------------------------
    @property
    def best_bid(self) -> int:
        return self.bids.ticks[0]

    @property
    def best_ask(self) -> int:
        return self.asks.ticks[0]

    def mid(self) -> Decimal:
        return (self.best_bid + self.best_ask) * self.tick / 2

    def step(self) -> None:
        self.step_count += 1
        rng = self.rng
        mid_ticks = (self.best_bid + self.best_ask) / 2
        move = int(round(rng.gauss(0.0, mid_ticks * MID_STEP_BPS / 10_000)))
        spread = 1 if rng.random() < 0.85 else rng.randint(2, 5)
        new_bid = max(1, self.best_bid + move)
        self._move_touch(self.bids, new_bid, -1)
        self._move_touch(self.asks, new_bid + spread, +1)
        for side in (self.bids, self.asks):
            for _ in range(max(1, int(len(side.ticks) * RESAMPLE_SHARE))):
                i = rng.randrange(len(side.ticks))
                side.units[i] = self._size()
                side.orders[i] = self._orders()
        self._evolve_walls()

    def _move_touch(self, side: Side, new_best: int, direction: int) -> None:
        """Levels beyond the new best vanish; the gap up to the old best fills with new levels."""
        old_best = side.ticks[0]
        if (new_best - old_best) * direction > 0:  # the touch moved away from mid: drop the levels it crossed
            keep = 0
            while keep < len(side.ticks) and (side.ticks[keep] - new_best) * direction < 0:
                keep += 1
            del side.ticks[:keep], side.units[:keep], side.orders[:keep]
            if not side.ticks or side.ticks[0] != new_best:
                side.ticks.insert(0, new_best)
                side.units.insert(0, self._size())
                side.orders.insert(0, self._orders())
        elif new_best != old_best:  # the touch moved towards the other side: new levels at the front
            fresh = self._dense_levels(new_best, old_best, direction)
            side.ticks[:0] = fresh
            side.units[:0] = [self._size() for _ in fresh]
            side.orders[:0] = [self._orders() for _ in fresh]
        extra = len(side.ticks) - self.levels
        if extra > 0:  # keep the level count calibrated: trim the far tail
            del side.ticks[-extra:], side.units[-extra:], side.orders[-extra:]

    def _evolve_walls(self) -> None:
        rng = self.rng
        for wall in self.walls:
            wall.steps_left -= 1
        self.walls = [w for w in self.walls if w.steps_left > 0]
        if rng.random() < WALL_SPAWN_P:
            side_name = rng.choice(("bid", "ask"))
            mid = float(self.mid())
            distance = mid * rng.uniform(0.001, 0.03)
            direction = -1 if side_name == "bid" else 1
            tick = int(round((mid + direction * distance) / float(self.tick)))
            notional = float(self.symbol.whale_floor_usd) * rng.uniform(1.5, 5.0)
            units = max(1, int(notional / (tick * float(self.tick)) / float(self.unit)))
            self.walls.append(Wall(side_name, tick, units, rng.randint(3, 12)))  # applied when rendered

    # -- rendering -----------------------------------------------------------------------------------------------
    def price_text(self, tick: int) -> str:
        text = self._price_cache.get(tick)
        if text is None:
            text = self._price_cache[tick] = plain(tick * self.tick)
        return text

    def size_text(self, units: int) -> str:
        text = self._size_cache.get(units)
        if text is None:
            text = self._size_cache[units] = plain(units * self.unit)
        return text

    def side_rows(self, name: str) -> list[list]:
        """The side as Coinbase rows [price, size, num_orders], walls applied (a wall adds to or makes a level)."""
        side = self.bids if name == "bid" else self.asks
        walls = {w.tick: w.units for w in self.walls if w.side == name}
        ticks, units, orders = side.ticks, side.units, side.orders
        rows = [[self.price_text(t), self.size_text(u), o] for t, u, o in zip(ticks, units, orders, strict=True)]
        if walls:
            descending = name == "bid"
            keys = [-t for t in ticks] if descending else ticks
            for tick, extra in sorted(walls.items()):
                if (tick - ticks[0]) * (-1 if descending else 1) < 0:
                    continue  # the touch moved past the wall: it was filled
                i = bisect_left(keys, -tick if descending else tick)
                if i < len(ticks) and ticks[i] == tick:
                    rows[i] = [rows[i][0], self.size_text(units[i] + extra), orders[i] + 1]
                else:
                    rows.insert(i, [self.price_text(tick), self.size_text(extra), 1])
                    keys.insert(i, -tick if descending else tick)
                    ticks = ticks[:i] + [tick] + ticks[i:]
                    units = units[:i] + [extra] + units[i:]
                    orders = orders[:i] + [1] + orders[i:]
        return rows

    def last_trade(self) -> tuple[str, str]:
        """A plausible last trade: at the touch, a typical size."""
        tick = self.best_bid if self.step_count % 2 else self.best_ask
        return self.price_text(tick), self.size_text(max(1, self.median_units // 7))


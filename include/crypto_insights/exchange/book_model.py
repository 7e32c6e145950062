"""A deterministic, evolving, full-size aggregated order book for one product, calibrated to Coinbase's.

Prices are whole ticks (``quote_increment``) and sizes whole base increments, so the book is exact; each level
keeps its serialised row (``["77589.4","0.0001",3]``), so a 44k-level response is a string join and a step
re-serialises only the levels it touched.

One :meth:`SimulatedBook.step` is one evolution step:
1. the mid moves by a random walk (2 bps per step, occasional 4x jumps, a faint pull back to the start price);
   the spread is one tick 85 % of the time, else 2-4 ticks;
2. the touch follows: levels the touch moved past are gone (traded); when the touch moves towards the other
   side, the gap fills with fresh levels at the density of the touch (see :mod:`level_profile`);
3. churn: 1 % of the levels cancel and as many are born elsewhere (at the stationary density), so the level
   count stays near ``simulated_levels_per_side`` (±5 %, drifting) and the side keeps its shape;
4. new sizes (orders added and cancelled at a price) for half of the ten best levels, 5 % of the first 2000
   and 0.5 % of the rest;
5. whale walls: each side may gain a wall (a level whose notional is ≥ the coin's whale floor and ≥ 30x the
   median level notional; often at a round price), which persists 4-16 steps and vanishes (or is traded
   away when the touch reaches it).

Everything random comes from one ``random.Random`` seeded by (seed, product), so the n-th state of a product
is the same in every run: ``SimulatedBook.at_step(symbol, seed, n)`` rebuilds it.
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_left
from dataclasses import dataclass
from decimal import Decimal
from itertools import compress

from crypto_insights.config import SymbolSettings
from crypto_insights.exchange.level_profile import LevelProfile
from crypto_insights.exchange.sizes import MEDIAN_NOTIONAL_SHARE_OF_WHALE_FLOOR, SizeModel
from crypto_insights.exchange.wire import Scale, row

MID_STEP_BPS = 2.0
JUMP_P, JUMP_FACTOR = 0.03, 4.0
MEAN_REVERSION = 0.001  # per step, on log(mid / start price)
ONE_TICK_SPREAD_P = 0.85
CHURN_SHARE = 0.01
RESAMPLE_NEAR_LEVELS, RESAMPLE_NEAR_SHARE, RESAMPLE_FAR_SHARE = 2000, 0.05, 0.005
TOUCH_LEVELS, TOUCH_RESAMPLE_P = 10, 0.5
COUNT_DRIFT, COUNT_BAND = 0.002, 0.05
FAR_ROUND_P = 0.5  # far levels often sit on round prices...
ROUND_WEIGHTS = (0.5, 0.35, 0.15)  # ...of 1e-4, 1e-3 and 1e-2 x the price's order of magnitude
WALL_SPAWN_P = 0.1  # per side per step
WALL_MAX_PER_SIDE = 3
WALL_LIFETIME_STEPS = (4, 16)
WALL_MEDIAN_MULTIPLE = 30
WALL_NOTIONAL_FACTOR = (1.1, 4.0)  # x max(whale floor, 30 x median level notional), log-uniform
WALL_DISTANCE = (0.001, 0.03)  # fraction of mid, log-uniform
WALL_AT_TOUCH_P = 0.25  # else on one of the first 60 levels
WALL_ROUND_P = 0.6


@dataclass
class Wall:
    """A whale's resting order, added on top of a level's own size (``base_*``) until ``until_step``."""

    units: int
    orders: int
    base_units: int
    base_orders: int
    until_step: int
    born_step: int


class BookSide:
    """One side, best first: ``keys`` (``direction * tick``, ascending away from the touch) and wire rows.

    Sizes live only in the rows: a level's size matters again only when it is redrawn, or when a wall lands on
    it (the wall keeps the level's own size to restore it).
    """

    def __init__(self, name: str, direction: int, prices: Scale, sizes: Scale) -> None:
        self.name, self.direction = name, direction
        self.prices, self.sizes = prices, sizes
        self.keys: list[int] = []
        self.rows: list[str] = []
        self.walls: dict[int, Wall] = {}

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def touch_tick(self) -> int:
        return self.direction * self.keys[0]

    def row_text(self, key: int, units: int, orders: int) -> str:
        return row(self.prices.text(self.direction * key), self.sizes.text(units), orders)

    def find(self, key: int) -> int | None:
        i = bisect_left(self.keys, key)
        return i if i < len(self.keys) and self.keys[i] == key else None

    def set_level(self, i: int, units: int, orders: int) -> None:
        self.rows[i] = self.row_text(self.keys[i], units, orders)

    def insert(self, key: int, units: int, orders: int) -> int:
        i = bisect_left(self.keys, key)
        self.keys.insert(i, key)
        self.rows.insert(i, self.row_text(key, units, orders))
        return i

    def prepend(self, levels: list[tuple[int, int, int]]) -> None:
        """Levels (key, units, orders), best first, all better than the current touch."""
        self.keys[:0] = [k for k, _, _ in levels]
        self.rows[:0] = [self.row_text(k, u, o) for k, u, o in levels]

    def drop_before(self, key: int) -> None:
        """Levels better than ``key`` are gone (the touch moved past them); so are their walls."""
        i = bisect_left(self.keys, key)
        if i:
            del self.keys[:i], self.rows[:i]
            for wall_key in [k for k in self.walls if k < key]:
                del self.walls[wall_key]

    def rebuild(self, keep: bytearray, births: list[tuple[int, int, int]]) -> None:
        """Keep the levels whose ``keep`` byte is 1, then merge ``births`` (sorted by key, keys all new)."""
        keys = list(compress(self.keys, keep))
        rows = list(compress(self.rows, keep))
        if births:
            out_keys: list[int] = []
            out_rows: list[str] = []
            start = 0
            for key, units, orders in births:
                at = bisect_left(keys, key, start)
                out_keys += keys[start:at]
                out_rows += rows[start:at]
                out_keys.append(key)
                out_rows.append(self.row_text(key, units, orders))
                start = at
            out_keys += keys[start:]
            out_rows += rows[start:]
            keys, rows = out_keys, out_rows
        self.keys, self.rows = keys, rows


class SimulatedBook:
    """The whole book of one product; ``step()`` evolves it, ``bids.rows`` / ``asks.rows`` are the wire rows."""

    def __init__(self, symbol: SymbolSettings, seed: int) -> None:
        self.symbol, self.seed = symbol, seed
        self.rng = random.Random(f"{seed}:{symbol.product_id}:book")
        self.price_scale = Scale(symbol.quote_increment)
        self.size_scale = Scale(symbol.base_increment)
        self.sizes = SizeModel.for_symbol(symbol)
        self.start_ticks = max(2, self.price_scale.units(symbol.simulated_start_price))
        levels = symbol.simulated_levels_per_side
        self.profiles = {
            "bids": LevelProfile(self.start_ticks, levels, bid=True),
            "asks": LevelProfile(self.start_ticks, levels, bid=False),
        }
        self.count_factor = {"bids": 1.0, "asks": 1.0}
        magnitude = 10 ** math.floor(math.log10(float(symbol.simulated_start_price)))
        self.round_ticks = tuple(
            max(1, round(magnitude * f / float(symbol.quote_increment))) for f in (1e-4, 1e-3, 1e-2)
        )
        self.median_notional = float(symbol.whale_floor_usd * MEDIAN_NOTIONAL_SHARE_OF_WHALE_FLOOR)
        self.wall_notional = max(float(symbol.whale_floor_usd), WALL_MEDIAN_MULTIPLE * self.median_notional)
        self.step_count = 0
        self.sequence = self.rng.randrange(10**10, 10**11)
        self.bids = BookSide("bids", -1, self.price_scale, self.size_scale)
        self.asks = BookSide("asks", +1, self.price_scale, self.size_scale)
        self._build(self.bids, self.start_ticks)
        self._build(self.asks, self.start_ticks + 1)

    @classmethod
    def at_step(cls, symbol: SymbolSettings, seed: int, step: int) -> SimulatedBook:
        """The book of ``symbol`` after ``step`` steps from the seeded state (what the server serves then)."""
        book = cls(symbol, seed)
        for _ in range(step):
            book.step()
        return book

    # -- reading -------------------------------------------------------------------------------------------------

    @property
    def best_bid(self) -> Decimal:
        return self.price_scale.value(self.bids.touch_tick)

    @property
    def best_ask(self) -> Decimal:
        return self.price_scale.value(self.asks.touch_tick)

    @property
    def mid(self) -> Decimal:
        return (self.best_bid + self.best_ask) / 2

    def side(self, name: str) -> BookSide:
        return self.bids if name in ("bids", "bid", "buy") else self.asks

    def levels(self, name: str) -> list[tuple[Decimal, Decimal, int]]:
        """A side as exact (price, size, num_orders), best first (parsed back from the wire rows)."""
        return [(Decimal(p), Decimal(q), n) for p, q, n in map(json.loads, self.side(name).rows)]

    def walls(self) -> list[tuple[str, Decimal, Decimal]]:
        """Active whale walls as (side, price, wall notional in quote currency)."""
        out = []
        for side in (self.bids, self.asks):
            for key, wall in sorted(side.walls.items()):
                price = self.price_scale.value(side.direction * key)
                out.append((side.name, price, price * self.size_scale.value(wall.units)))
        return out

    # -- building ------------------------------------------------------------------------------------------------

    def _snap(self, side: BookSide, touch_key: int, k: int) -> int:
        """Maybe move a far level to a round price (whole dollars, tens, hundreds for BTC)."""
        if k < self.profiles[side.name].k_near or self.rng.random() >= FAR_ROUND_P:
            return k
        grain = self.rng.choices(self.round_ticks, ROUND_WEIGHTS)[0]
        tick = side.direction * (touch_key + k)
        snapped = round(tick / grain) * grain
        return side.direction * snapped - touch_key

    def _build(self, side: BookSide, touch_tick: int) -> None:
        """Lay the side out from the touch, then top it up to its level count (round prices collide)."""
        touch_key = side.direction * touch_tick
        profile = self.profiles[side.name]
        levels, last = [], -1
        for k in profile.walk(self.rng, 0, 10**15, self.symbol.simulated_levels_per_side):
            snapped = self._snap(side, touch_key, k)
            k = snapped if snapped > last else k
            if k <= last or not self._valid(side, touch_key + k):
                continue
            levels.append((touch_key + k, *self.sizes.draw(self.rng)))
            last = k
        side.prepend(levels)
        self._churn(side, share=0.0)

    @staticmethod
    def _valid(side: BookSide, key: int) -> bool:
        return side.direction * key >= 1  # a price of at least one tick

    # -- evolution -----------------------------------------------------------------------------------------------

    def step(self) -> None:
        self.step_count += 1
        rng = self.rng
        bid, ask = self.bids.touch_tick, self.asks.touch_tick
        mid = (bid + ask) / 2
        sigma = mid * MID_STEP_BPS / 10_000 * (JUMP_FACTOR if rng.random() < JUMP_P else 1.0)
        drift = -MEAN_REVERSION * math.log(mid / self.start_ticks) * mid
        new_bid = max(1, bid + round(rng.gauss(drift, sigma)))
        spread = 1 if rng.random() < ONE_TICK_SPREAD_P else rng.randint(2, 4)
        self._move_touch(self.bids, new_bid)
        self._move_touch(self.asks, new_bid + spread)
        for side in (self.bids, self.asks):
            self._expire_walls(side)
            self._churn(side)
            self._resample(side)
            self._maybe_spawn_wall(side)
        self.sequence += rng.randint(2_000, 30_000)

    def _move_touch(self, side: BookSide, new_touch_tick: int) -> None:
        new_key, old_key = side.direction * new_touch_tick, side.keys[0]
        if new_key > old_key:  # the touch moved away from the other side: what it passed was traded
            side.drop_before(new_key)
            if not side.keys or side.keys[0] != new_key:
                side.prepend([(new_key, *self.sizes.draw(self.rng))])
        elif new_key < old_key:  # towards the other side: new orders fill the gap at the touch's density
            distances = self.profiles[side.name].walk(self.rng, 0, old_key - new_key, 10**9)
            side.prepend([(new_key + k, *self.sizes.draw(self.rng)) for k in distances])

    def _target_count(self, side: BookSide) -> int:
        factor = self.count_factor[side.name] + self.rng.gauss(0.0, COUNT_DRIFT)
        factor = min(1 + COUNT_BAND, max(1 - COUNT_BAND, factor))
        self.count_factor[side.name] = factor
        return max(2, round(self.profiles[side.name].expected_levels * factor))

    def _churn(self, side: BookSide, share: float = CHURN_SHARE) -> None:
        """Cancel ``share`` of the levels (uniformly, never the touch or a wall), then births up to the target."""
        rng, n = self.rng, len(side)
        target = self._target_count(side)
        cancels = min(round(share * n) + max(0, n - target), n - 1)
        keep = bytearray(b"\x01") * n
        removed = 0
        for i in rng.sample(range(1, n), cancels):
            if side.keys[i] not in side.walls:
                keep[i] = 0
                removed += 1
        needed = target - (n - removed)
        born: dict[int, tuple[int, int]] = {}
        touch_key, keys, profile = side.keys[0], side.keys, self.profiles[side.name]
        attempts = 0
        while len(born) < needed and attempts < 3 * needed + 20:
            attempts += 1
            k = self._snap(side, touch_key, profile.birth(rng))
            key = touch_key + k
            if k < 1 or key in born or not self._valid(side, key):
                continue
            at = bisect_left(keys, key)
            if at < n and keys[at] == key and keep[at]:
                continue  # a level is there already
            born[key] = self.sizes.draw(rng)
        side.rebuild(keep, [(key, u, o) for key, (u, o) in sorted(born.items())])

    def _resample(self, side: BookSide) -> None:
        """New sizes: the levels near the touch change often, the far ones rarely."""
        rng, n = self.rng, len(side)
        near = min(n, RESAMPLE_NEAR_LEVELS)
        chosen = rng.sample(range(near), round(RESAMPLE_NEAR_SHARE * near))
        if n > near:
            chosen += rng.sample(range(near, n), round(RESAMPLE_FAR_SHARE * (n - near)))
        chosen += [i for i in range(min(TOUCH_LEVELS, n)) if rng.random() < TOUCH_RESAMPLE_P]
        for i in chosen:
            if side.keys[i] not in side.walls:
                side.set_level(i, *self.sizes.draw(rng))

    def _expire_walls(self, side: BookSide) -> None:
        for key, wall in list(side.walls.items()):
            if wall.until_step > self.step_count:
                continue
            del side.walls[key]
            i = side.find(key)
            if i is not None:
                side.set_level(i, wall.base_units, wall.base_orders)

    def _maybe_spawn_wall(self, side: BookSide) -> None:
        rng = self.rng
        if len(side.walls) >= WALL_MAX_PER_SIDE or rng.random() >= WALL_SPAWN_P:
            return
        touch_key = side.keys[0]
        if rng.random() < WALL_AT_TOUCH_P:
            key = side.keys[rng.randint(1, min(60, len(side) - 1))]
        else:
            mid_ticks = (self.bids.touch_tick + self.asks.touch_tick) / 2
            fraction = math.exp(rng.uniform(*map(math.log, WALL_DISTANCE)))
            key = touch_key + max(1, round(fraction * mid_ticks))
            if rng.random() < WALL_ROUND_P:
                grain = self.round_ticks[-1]
                snapped = side.direction * round(side.direction * key / grain) * grain
                key = snapped if snapped > touch_key else key
        if key in side.walls or not self._valid(side, key):
            return
        price = float(self.price_scale.value(side.direction * key))
        notional = self.wall_notional * math.exp(rng.uniform(*map(math.log, WALL_NOTIONAL_FACTOR)))
        base_units, base_orders = self.sizes.draw(rng)  # the level's own orders, redrawn as the wall lands
        wall = Wall(
            units=max(1, int(notional / price / float(self.size_scale.increment))),
            orders=rng.randint(1, 2),
            base_units=base_units,
            base_orders=base_orders,
            until_step=self.step_count + rng.randint(*WALL_LIFETIME_STEPS),
            born_step=self.step_count,
        )
        i = side.find(key)
        if i is None:
            i = side.insert(key, base_units, base_orders)
        side.walls[key] = wall
        side.set_level(i, base_units + wall.units, base_orders + wall.orders)

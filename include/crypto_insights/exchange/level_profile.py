"""Where one side's levels sit: an occupancy probability per tick, by distance from the touch.

Calibrated to Coinbase's aggregated books: almost every tick is taken right at the touch, gaps grow away from
it (density ~ 1/sqrt(distance) within the near band, a quarter of the levels within 5 % of mid for BTC-USD),
and the rest spreads thinly and far (density ~ 1/distance, so as many levels per decade of distance), down to
a tenth of the price for bids and up to five times it for asks. The near share is capped by the ticks there
are: ADA-USD at 0.45 has only 225 ticks within 5 %, so its near band is nearly full, as on the real exchange.

Two ways of placing levels keep a side's shape stationary while the book evolves:
- :meth:`walk` lays levels outward from a point with geometric gaps (used to build a side, and to fill the
  gap a touch leaves when it moves towards the other side): the expected occupancy of tick ``k`` is ``ρ(k)``;
- :meth:`birth` draws one distance for a new level among the cancelled ones. With cancellations uniform over
  levels, births drawn with density ``ρ/(1-ρ)`` (on free ticks only) keep the occupancy at ``ρ``.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right

NEAR_BAND = 0.05  # fraction of mid
NEAR_SHARE = 0.25  # of a side's levels within NEAR_BAND (when the ticks there allow it)
NEAR_FILL_CAP = 0.75  # at most this share of the ticks within NEAR_BAND hold a level
FAR_BID, FAR_ASK = 0.9, 4.0  # the deepest level's distance, as a fraction of mid
RHO_NEAR, RHO_FAR = 0.9, 0.85  # occupancy caps
FAR_FILL_CAP = 0.8


def _near_count(a: float, k_near: int) -> float:
    """Σ_{k<k_near} min(RHO_NEAR, a/sqrt(k+1)), in closed form (integral approximation)."""
    k_sat = min(float(k_near), (a / RHO_NEAR) ** 2)
    return RHO_NEAR * k_sat + 2 * a * (math.sqrt(k_near) - math.sqrt(max(k_sat, 1.0))) * (k_sat < k_near)


def _far_count(b: float, k_near: int, k_max: int) -> float:
    """∫_{k_near}^{k_max} min(RHO_FAR, b·k_near/k) dk."""
    k_sat = min(float(k_max), max(float(k_near), b * k_near / RHO_FAR))
    return RHO_FAR * (k_sat - k_near) + b * k_near * math.log(k_max / k_sat)


def _solve(count, target: float) -> float:
    """The coefficient whose count is ``target`` (count is increasing in it)."""
    lo, hi = 0.0, 1.0
    while count(hi) < target and hi < 1e12:
        hi *= 2
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if count(mid) < target else (lo, mid)
    return hi


class LevelProfile:
    """Occupancy by distance ``k`` (in ticks) from the touch, for one side of one product."""

    def __init__(self, mid_ticks: int, levels: int, *, bid: bool) -> None:
        self.k_near = max(2, int(mid_ticks * NEAR_BAND))
        self.k_max = max(self.k_near + 2, int(mid_ticks * (FAR_BID if bid else FAR_ASK)))
        near = min(NEAR_SHARE * levels, NEAR_FILL_CAP * self.k_near)
        far = min(levels - near, FAR_FILL_CAP * RHO_FAR * (self.k_max - self.k_near))
        self.a = _solve(lambda a: _near_count(a, self.k_near), near)
        self.b = _solve(lambda b: _far_count(b, self.k_near, self.k_max), far)
        self.expected_levels = int(near + far)
        self._grid, self._cumulative = self._birth_grid()

    def density(self, k: int) -> float:
        """ρ(k): the probability that the tick ``k`` ticks from the touch holds a level."""
        if k < self.k_near:
            return min(RHO_NEAR, self.a / math.sqrt(k + 1))
        if k <= self.k_max:
            return min(RHO_FAR, self.b * self.k_near / k)
        return 0.0

    def walk(self, rng: random.Random, start: int, stop: int, limit: int) -> list[int]:
        """Distances in [start, stop) with geometric gaps of mean 1/ρ; ``start`` itself always; ≤ limit."""
        out, k = [], start
        stop = min(stop, self.k_max + 1)
        log = math.log
        while k < stop and len(out) < limit:
            out.append(k)
            rho = self.density(k)
            k += 1 if rho >= 1 else 1 + int(log(1.0 - rng.random()) / log(1.0 - rho))
        return out

    def _birth_grid(self) -> tuple[list[float], list[float]]:
        """Points k and the cumulative birth density Σ ρ/(1-ρ) up to them (trapezoids)."""
        points: list[float] = [float(k) for k in range(min(64, self.k_max))]
        k = float(len(points))
        while k < self.k_max:
            points.append(k)
            k = max(k + 1, k * 1.01)
        points.append(float(self.k_max))
        weights = [self.density(int(k)) / (1 - self.density(int(k))) for k in points]
        cumulative = [0.0]
        for i in range(1, len(points)):
            cumulative.append(cumulative[-1] + (weights[i - 1] + weights[i]) / 2 * (points[i] - points[i - 1]))
        return points, cumulative

    def birth(self, rng: random.Random) -> int:
        """One distance for a new level (≥ 1: the touch itself is never born here)."""
        grid, cumulative = self._grid, self._cumulative
        u = rng.random() * cumulative[-1]
        i = min(bisect_right(cumulative, u), len(grid) - 1)
        low, high = cumulative[i - 1], cumulative[i]
        k = grid[i - 1] + (grid[i] - grid[i - 1]) * ((u - low) / (high - low) if high > low else 0.0)
        return max(1, int(k))

"""How much rests at a level: heavy-tailed sizes with dust and repeated bot-ladder sizes, in base increments.

The scale comes from the coin's whale floor (a typical level holds ``whale_floor_usd / 400`` of quote
currency, so an ordinary level is never a wall while the floor stays meaningful): 72 % log-normal around that
median, 5 % Pareto (the far tail), 15 % a handful of round "bot ladder" sizes that repeat across levels, and 8 %
dust of a few increments (``0.00000001`` to ``0.00001`` BTC).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from crypto_insights.config import SymbolSettings

MEDIAN_NOTIONAL_SHARE_OF_WHALE_FLOOR = Decimal(1) / 400
DAILY_VOLUME_MEDIANS = 160_000  # 24 h volume ≈ this many median level notionals (BTC-USD: ~$400M)
DUST_SHARE, LADDER_SHARE, PARETO_SHARE = 0.08, 0.15, 0.05
LOGNORMAL_SIGMA = 1.5
PARETO_ALPHA = 1.3
LADDER_FACTORS = (0.1, 0.2, 0.5, 1, 2, 5)


def _round_one_significant(units: float) -> int:
    """A "round" size a bot would pick (1, 2, 5 x a power of ten), in increments (≥ 1)."""
    if units < 1:
        return 1
    power = 10 ** int(math.floor(math.log10(units)))
    lead = min((1, 2, 5, 10), key=lambda d: abs(d * power - units))
    return int(lead * power)


def daily_notional(symbol: SymbolSettings) -> Decimal:
    """The coin's modelled 24 h traded notional in quote currency (BTC-USD: $400M): the ticker's and the tape's."""
    return symbol.whale_floor_usd * MEDIAN_NOTIONAL_SHARE_OF_WHALE_FLOOR * DAILY_VOLUME_MEDIANS


@dataclass(frozen=True)
class SizeModel:
    median_units: int  # a typical level, in base increments
    dust_max_units: int
    ladder: tuple[int, ...]

    @classmethod
    def for_symbol(cls, symbol: SymbolSettings) -> SizeModel:
        median_notional = symbol.whale_floor_usd * MEDIAN_NOTIONAL_SHARE_OF_WHALE_FLOOR
        median = max(1, int(median_notional / symbol.simulated_start_price / symbol.base_increment))
        ladder = tuple(sorted({_round_one_significant(median * f) for f in LADDER_FACTORS}))
        return cls(median_units=median, dust_max_units=max(1, min(1000, median // 1000)), ladder=ladder)

    def draw(self, rng: random.Random) -> tuple[int, int]:
        """(size in base increments ≥ 1, num_orders ≥ 1) of one level."""
        u = rng.random()
        if u < DUST_SHARE:
            return rng.randint(1, self.dust_max_units), 1
        if u < DUST_SHARE + LADDER_SHARE:
            return rng.choice(self.ladder), 1 + (rng.random() < 0.2)
        if u < DUST_SHARE + LADDER_SHARE + PARETO_SHARE:
            factor = 2.0 * (1.0 - rng.random()) ** (-1.0 / PARETO_ALPHA)
        else:
            factor = math.exp(rng.gauss(0.0, LOGNORMAL_SIGMA))
        units = max(1, int(self.median_units * factor))
        if factor > 1:  # bigger levels tend to gather more orders
            return units, 1 + int(rng.expovariate(0.6)) + int(math.log2(factor))
        return units, 1 + int(rng.expovariate(1.2))

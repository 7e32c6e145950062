"""Edge reduction of a whole level-2 book (docs/architecture.md#edge-reduction): exact, and cheap enough for ~44k
levels every 10 s.

Kept per side: the best rows verbatim (strings as received) — the top N, and more when the largest configured
order the band can fill needs more, so every slippage figure walks real levels —, the level count and total size
of the whole side, a profile of the book within ±band of mid in buckets of `bucket_bps`: bucket k holds the levels
with k·w·mid < |price − mid| ≤ (k+1)·w·mid (bucket 0 includes distance 0), w = bucket_bps/10⁴, and where the book
past the kept rows starts (the rest of the bucket the farthest kept level sits in). Every band KPI
(`|price − mid| ≤ b·mid`, b a multiple of w) is then an exact sum of whole buckets, and dbt never computes a
bucket edge.

A level is counted (totals, profile) when its price and size are positive numbers in `DECIMAL_SYNTAX`, the one
number syntax of the project (dbt's `is_decimal_string` receives the same pattern as a var). Other rows are
excluded and counted here, and stay in the verbatim kept rows, where dbt drops and counts them by rule. Only a
structurally broken side raises.

Speed: what the exchange sends (numbers as ASCII digits and a dot, bids descending, asks ascending) is verified in
bulk with C-level passes (join + translate, `map` to Decimal, one `sorted` that is linear on sorted input), then
reduced with `bisect`: the band and every bucket are contiguous runs of a sorted side, so there is no per-level
division. Anything else takes a per-row path that parses each string on its own and sorts.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction
from itertools import repeat
from math import ceil
from operator import itemgetter, mul

from crypto_insights.number_syntax import DECIMAL_SYNTAX

# Additions, products and exponent shifts are never rounded in this context, and anything that would be raises.
# (Operand sizes are bounded: Coinbase-style strings, or numbers with at most 3 exponent digits, as dbt reads them.)
EXACT = Context(
    prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow]
)
ZERO = Decimal(0)

_NUMBER = re.compile(DECIMAL_SYNTAX)
_PLAIN_CHARS = b"0123456789."


class InvalidBook(ValueError):
    """The book cannot be reduced: a side is missing, empty, has no valid level, or a row is not a level row."""


@dataclass(frozen=True, slots=True)
class ProfileBucket:
    side: str  # "bid" | "ask"
    bucket: int  # k: k·w·mid < |price − mid| <= (k+1)·w·mid
    size: Decimal
    notional: Decimal  # Σ price × size
    level_count: int


@dataclass(frozen=True, slots=True)
class TailStart:
    """Where the book past the kept rows starts: bucket k of the farthest kept valid level, minus the kept levels
    in it. The rest of the book within the band is this piece, then the whole buckets after k."""

    bucket: int
    size: Decimal
    notional: Decimal
    level_count: int  # 0 when the kept levels fill the bucket


@dataclass(frozen=True, slots=True)
class SideSummary:
    kept_rows: list  # the best rows, verbatim (list of [price str, size str, num_orders]); see _kept_count
    level_count: int  # rows of the side in the payload, valid or not
    total_size: Decimal  # over the valid levels
    excluded_levels: int  # rows whose price or size is not a positive number (left out of totals and profile)
    tail_start: TailStart | None  # None: no kept valid level, or the farthest lies outside the band


@dataclass(frozen=True, slots=True)
class ReducedBook:
    best_bid: Decimal
    best_ask: Decimal
    mid: Decimal
    is_crossed: bool  # best_bid >= best_ask: reduced all the same, dbt leaves it out of the KPIs
    bids: SideSummary
    asks: SideSummary
    profile: list[ProfileBucket]  # bids then asks, ascending bucket


@dataclass(frozen=True, slots=True)
class _Levels:
    """One side as read: its valid levels in ascending price order, its rows in the order they are kept, the counts.

    `order` lists row indices best first (None: the rows as sent); `row_prices`/`row_sizes` hold each row's
    number by row index (None where it is not a positive number).
    """

    prices: list[Decimal]
    sizes: list[Decimal]
    rows: list
    order: list[int] | None
    row_prices: list[Decimal | None]
    row_sizes: list[Decimal | None]
    excluded: int


def reduce_book(
    bids: list,
    asks: list,
    *,
    top_levels: int,
    band_pct: Decimal,
    bucket_bps: int,
    order_sizes: Sequence[Decimal] = (),
) -> ReducedBook:
    """Reduce one level-2 book; raises `InvalidBook` when it cannot be (the payload is rejected and recorded).

    `order_sizes` are the configured market orders (USD) whose slippage is measured: each side keeps at least
    `top_levels` rows, and more until the largest of them that the band can fill is filled.
    """
    band_pct = band_pct if isinstance(band_pct, Decimal) else Decimal(str(band_pct))
    buckets = _bucket_count(top_levels, band_pct, bucket_bps)
    bid = _read_side(bids, "bids", descending=True)
    ask = _read_side(asks, "asks", descending=False)
    best_bid, best_ask = bid.prices[-1], ask.prices[0]
    mid = _midpoint(best_bid, best_ask)
    with localcontext(EXACT):
        unit = (mid * bucket_bps).scaleb(-4)
        band = (mid * band_pct).scaleb(-2)
        radii = [min(unit * k, band) for k in range(1, buckets + 1)]
        lowers, uppers = [mid - r for r in radii], [mid + r for r in radii]
        sides = []
        for levels, label in ((bid, "bid"), (ask, "ask")):
            profile, total_size = _profile(levels, label, lowers, uppers)
            kept = _kept_count(levels, top_levels, _largest_fillable(order_sizes, profile))
            summary = SideSummary(
                _kept_rows(levels, kept),
                len(levels.rows),
                total_size,
                levels.excluded,
                _tail_start(levels, kept, profile, mid, radii),
            )
            sides.append((profile, summary))
    (bid_profile, bid_summary), (ask_profile, ask_summary) = sides
    return ReducedBook(
        best_bid, best_ask, mid, best_bid >= best_ask, bid_summary, ask_summary, bid_profile + ask_profile
    )


def _bucket_count(top_levels: int, band_pct: Decimal, bucket_bps: int) -> int:
    """Buckets in the band (the last one is cut at the band edge when the band is not a whole number of them)."""
    if top_levels < 0:
        raise ValueError(f"top_levels must be >= 0, got {top_levels}")
    if not isinstance(bucket_bps, int) or bucket_bps <= 0:
        raise ValueError(f"profile bucket must be a positive whole number of bps, got {bucket_bps!r}")
    if not band_pct.is_finite() or band_pct < 0:
        raise ValueError(f"profile band must be a finite percentage >= 0, got {band_pct}")
    return ceil(Fraction(band_pct) * 100 / bucket_bps)


def _midpoint(best_bid: Decimal, best_ask: Decimal) -> Decimal:
    with localcontext(EXACT):
        total = best_bid + best_ask
    # Halving needs at most one digit more; a context of just that precision divides exactly and cheaply.
    return Context(prec=len(total.as_tuple().digits) + 1, traps=[Inexact]).divide(total, 2)


# -- reading a side ---------------------------------------------------------------------------------------------


def _read_side(rows: list, name: str, *, descending: bool) -> _Levels:
    prices, sizes = _columns(rows, name)
    try:
        plain = _is_plain(prices) and _is_plain(sizes)
    except TypeError:  # a value that is not a string
        _check_strings(prices, sizes, name)
        plain = False
    levels = _sorted_side(rows, prices, sizes, descending) if plain else None
    return levels or _any_side(rows, prices, sizes, descending, name)


def _columns(rows: object, name: str) -> tuple[list, list]:
    """The price and size columns; the row shapes are checked in C first, row by row only to name the broken one."""
    if not isinstance(rows, list):
        raise InvalidBook(f"{name}: expected a list of [price, size, num_orders] rows, got {type(rows).__name__}")
    if not rows:
        raise InvalidBook(f"{name}: the side is empty (a book needs at least one bid and one ask)")
    try:
        if set(map(len, rows)) == {3}:
            # list.__getitem__ refuses anything but a list: the type check comes with the column
            return list(map(list.__getitem__, rows, repeat(0))), list(map(list.__getitem__, rows, repeat(1)))
    except TypeError:
        pass
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != 3:
            raise InvalidBook(f"{name}[{i}]: expected a [price, size, num_orders] row, got {_short(row)}")
    raise AssertionError("unreachable: some row failed the bulk check")  # pragma: no cover


def _check_strings(prices: list, sizes: list, name: str) -> None:
    """Prices and sizes travel as strings to stay exact; a JSON null is a missing value (dbt drops and counts it)."""
    for i, (price, size) in enumerate(zip(prices, sizes, strict=True)):
        for what, value in (("price", price), ("size", size)):
            if value is not None and type(value) is not str:
                raise InvalidBook(
                    f"{name}[{i}]: {what} {_short(value)} is not a string "
                    "(Coinbase sends numbers as strings; a JSON number would not be exact)"
                )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_plain(texts: list) -> bool:
    """Every text is ASCII digits and dots only, as Coinbase writes numbers. TypeError if one is not a str."""
    joined = "\n".join(texts)
    # deleting digits and dots leaves exactly the separators when nothing else was there
    return joined.isascii() and len(joined.encode().translate(None, _PLAIN_CHARS)) == len(texts) - 1


def _sorted_side(rows: list, prices_text: list[str], sizes_text: list[str], descending: bool) -> _Levels | None:
    """The exchange's case, verified in bulk: every row valid and the side in order. None when not so."""
    try:  # EXACT.create_decimal: the constructor without the context lookup (never rounds at MAX_PREC)
        row_prices = list(map(EXACT.create_decimal, prices_text))
        row_sizes = list(map(EXACT.create_decimal, sizes_text))
    except InvalidOperation:  # digits and dots that are not a number: "", ".", "1.2.3"
        return None
    prices, sizes = (row_prices[::-1], row_sizes[::-1]) if descending else (row_prices, row_sizes)
    # Plain numbers are never negative: a zero is the only way to be invalid, and zeros are falsy.
    if prices != sorted(prices) or not prices[0] or not all(sizes):
        return None
    return _Levels(prices, sizes, rows, None, row_prices, row_sizes, 0)


def _number(text: object) -> Decimal | None:
    """The positive number `text` stands for, or None when it is not one (as dbt would judge it)."""
    if type(text) is not str or _NUMBER.fullmatch(text) is None:
        return None
    value = Decimal(text)  # exact whatever the context: the constructor never rounds
    return value if value > 0 else None


def _any_side(rows: list, prices_text: list, sizes_text: list, descending: bool, name: str) -> _Levels:
    """Any side: each string parsed on its own, invalid levels excluded and counted, the rest sorted."""
    prices = list(map(_number, prices_text))
    sizes = list(map(_number, sizes_text))
    priced = [i for i, price in enumerate(prices) if price is not None]
    ranked = sorted(priced, key=prices.__getitem__, reverse=descending)  # stable: ties keep their order
    # In order: the rows are kept as sent. Out of order: the best rows by valid price, as the exchange would have
    # sent them (dbt ranks the kept rows, and takes the buckets past them as the rest of the book); rows without a
    # valid price go last.
    order = None if ranked == priced else ranked + [i for i, price in enumerate(prices) if price is None]
    levels = sorted(((prices[i], sizes[i]) for i in priced if sizes[i] is not None), key=itemgetter(0))
    if not levels:
        raise InvalidBook(f"{name}: none of the {len(rows)} rows has a positive price and size")
    ascending_prices, ascending_sizes = [p for p, _ in levels], [s for _, s in levels]
    return _Levels(ascending_prices, ascending_sizes, rows, order, prices, sizes, len(rows) - len(levels))


# -- the kept rows ----------------------------------------------------------------------------------------------


def _largest_fillable(order_sizes: Sequence[Decimal], profile: list[ProfileBucket]) -> Decimal | None:
    """The largest configured order the side's band can fill (larger ones have no slippage figure)."""
    in_band = sum((b.notional for b in profile), ZERO)
    return max((usd for usd in order_sizes if usd <= in_band), default=None)


def _best_first(side: _Levels) -> Sequence[int]:
    return range(len(side.rows)) if side.order is None else side.order


def _kept_count(side: _Levels, top_levels: int, fill_usd: Decimal | None) -> int:
    """`top_levels` rows, or more: through the valid level where the notional walked best first reaches
    `fill_usd`, so dbt's slippage walk for every fillable order ends on a kept level (exact)."""
    if fill_usd is not None:
        walked = ZERO
        for position, i in enumerate(_best_first(side)):
            price, size = side.row_prices[i], side.row_sizes[i]
            if price is not None and size is not None:
                walked += price * size
                if walked >= fill_usd:
                    return max(top_levels, position + 1)
    return top_levels


def _kept_rows(side: _Levels, kept: int) -> list:
    """The kept rows, detached from the caller's lists (values untouched)."""
    chosen = side.rows[:kept] if side.order is None else [side.rows[i] for i in side.order[:kept]]
    return [list(row) for row in chosen]


def _tail_start(
    side: _Levels, kept: int, profile: list[ProfileBucket], mid: Decimal, radii: list[Decimal]
) -> TailStart | None:
    """The rest of the bucket of the farthest kept valid level; call in the EXACT context.

    Bucket k is the first whose outer radius reaches |price − mid| (`radii` as in `reduce_book`).
    """
    kept_levels = [
        (side.row_prices[i], side.row_sizes[i])
        for i in _best_first(side)[:kept]
        if side.row_prices[i] is not None and side.row_sizes[i] is not None
    ]
    if not kept_levels:
        return None
    buckets = [bisect_left(radii, abs(price - mid)) for price, _ in kept_levels]
    last = max(buckets)
    if last >= len(radii):
        return None  # a kept level lies outside the band: the profile has nothing past it
    whole = next(b for b in profile if b.bucket == last)
    in_last = [level for level, k in zip(kept_levels, buckets, strict=True) if k == last]
    return TailStart(
        last,
        whole.size - sum((size for _, size in in_last), ZERO),
        whole.notional - sum((price * size for price, size in in_last), ZERO),
        whole.level_count - len(in_last),
    )


# -- the profile ------------------------------------------------------------------------------------------------


def _profile(side: _Levels, label: str, lowers: list[Decimal], uppers: list[Decimal]) -> tuple[list, Decimal]:
    """The buckets and the total valid size of one side; call in the EXACT context.

    `lowers[k]`/`uppers[k]` are mid ∓ the outer radius of bucket k, so the levels within that radius are the run
    `[starts[k], ends[k])` of the ascending prices, and bucket k is that run minus the previous one: at most two
    pieces (below and above mid; the one above is empty for bids unless the book is crossed, and vice versa).
    The buckets partition the band's run, so the side's total is their sum plus the levels outside the band.
    """
    prices, sizes = side.prices, side.sizes
    if not lowers:
        return [], sum(sizes, ZERO)
    starts = [bisect_left(prices, edge) for edge in lowers]
    ends = [bisect_right(prices, edge) for edge in uppers]
    profile = []
    previous_start = previous_end = starts[0]
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        size, notional, count = ZERO, ZERO, 0
        for i, j in ((start, previous_start), (previous_end, end)):
            if j > i:
                size += sum(sizes[i:j], ZERO)
                notional += sum(map(mul, prices[i:j], sizes[i:j]), ZERO)
                count += j - i
        if count:
            profile.append(ProfileBucket(label, k, size, notional, count))
        previous_start, previous_end = start, end
    first, last = starts[-1], ends[-1]
    total = sum(sizes[:first], ZERO) + sum((b.size for b in profile), ZERO) + sum(sizes[last:], ZERO)
    return profile, total

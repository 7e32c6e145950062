"""The edge reduction against a plain reference on random books: exact, sorted or not, on bucket edges or not."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from decimal import Context, Decimal, Inexact, localcontext

import pytest

from crypto_insights.landing.reduce import reduce_book

D = Decimal
EXACT = Context(prec=200, traps=[Inexact])  # the books below need far fewer digits; anything more raises
# the project's number syntax (crypto_insights.number_syntax), restated
NUMBER = re.compile(r"[ \t\n\r\f\v]*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?[ \t\n\r\f\v]*")
BAD_TEXTS = ["-1", "0", "0.000", "abc", None, "NaN", "Infinity", "1_0", "\u0663", "", ".", "1e0005"]


def positive(text) -> Decimal | None:
    if not isinstance(text, str) or not NUMBER.fullmatch(text):
        return None
    value = D(text)
    return value if value > 0 else None


def reference(bids, asks, *, top: int, band_pct: Decimal, bps: int, orders: tuple = ()) -> dict:
    """docs/architecture.md#edge-reduction taken literally, one level at a time: no bisect, no bulk checks, no
    prefix runs."""
    out = {}
    with localcontext(EXACT):
        sides, ordered, numbers = {}, {}, {}
        for side, rows, best_first in (("bid", bids, True), ("ask", asks, False)):
            levels = [(positive(p), positive(s)) for p, s, _ in rows]
            valid = [(p, s) for p, s in levels if p is not None and s is not None]
            priced = [(p, i) for i, (p, _) in enumerate(levels) if p is not None]
            in_order = [p for p, _ in priced] == sorted((p for p, _ in priced), reverse=best_first)
            if in_order:
                order = list(range(len(rows)))
            else:
                ranked = sorted(priced, key=lambda pi: pi[0], reverse=best_first)
                order = [i for _, i in ranked] + [i for i, (p, _) in enumerate(levels) if p is None]
            total = D(0)
            for _, s in valid:
                total += s
            sides[side], ordered[side], numbers[side] = valid, order, levels
            out[side] = [len(rows), total, len(rows) - len(valid)]
        best_bid = max(p for p, _ in sides["bid"])
        best_ask = min(p for p, _ in sides["ask"])
        mid = (best_bid + best_ask) / 2
        unit = mid * bps / 10_000
        band = mid * band_pct / 100

        def bucket(price):  # None outside the band
            distance = abs(price - mid)
            if distance > band:
                return None
            k = 0
            while distance > unit * (k + 1):
                k += 1
            return k

        profile = defaultdict(lambda: [D(0), D(0), 0])
        for side, valid in sides.items():
            for price, size in valid:
                k = bucket(price)
                if k is None:
                    continue
                entry = profile[(side, k)]
                entry[0] += size
                entry[1] += price * size
                entry[2] += 1
        for side, rows in (("bid", bids), ("ask", asks)):
            # kept: the top rows, or through the level where the largest order the band can fill is filled
            in_band = sum((v[1] for (s, _), v in profile.items() if s == side), D(0))
            fillable = [usd for usd in orders if usd <= in_band]
            count, walked = top, D(0)
            for position, i in enumerate(ordered[side]):
                price, size = numbers[side][i]
                if fillable and price is not None and size is not None:
                    walked += price * size
                    if walked >= max(fillable):
                        count = max(top, position + 1)
                        break
            kept_indices = ordered[side][:count]
            kept = [rows[i] for i in kept_indices]
            kept_valid = [numbers[side][i] for i in kept_indices if None not in numbers[side][i]]
            tail = None
            if kept_valid and all(bucket(p) is not None for p, _ in kept_valid):
                last = max(bucket(p) for p, _ in kept_valid)
                size, notional, count_ = profile[(side, last)]
                for p, s in kept_valid:
                    if bucket(p) == last:
                        size, notional, count_ = size - s, notional - p * s, count_ - 1
                tail = (last, size, notional, count_)
            out[side] = (kept, *out[side], tail)
    out["profile"] = [(s, k, *v) for (s, k), v in sorted(profile.items(), key=lambda kv: (kv[0][0] != "bid", kv[0][1]))]
    out["touch"] = (best_bid, best_ask, mid, best_bid >= best_ask)
    return out


def random_book(
    rng: random.Random,
    levels: int,
    *,
    crossed: bool,
    on_edges: float,
    bad: float,
    bps: int,
    shuffle: bool,
    plain: bool = True,
) -> tuple[list, list]:
    """A book around a random mid: 0.01 ticks, sparse levels, heavy-tailed sizes, optionally many prices exactly on
    (or one 1e-8 off) bucket edges, bad rows, duplicate prices, written plainly or in other valid forms."""
    with localcontext(EXACT):
        return _random_book(rng, levels, crossed, on_edges, bad, bps, shuffle, plain)


def _random_book(rng, levels, crossed, on_edges, bad, bps, shuffle, plain):
    mid_ticks = rng.randint(2_000, 10_000_000)
    best_bid = D(mid_ticks - rng.randint(0, 2)) / 100
    best_ask = D(mid_ticks + rng.randint(1, 3)) / 100
    if crossed:
        best_bid, best_ask = best_ask + D(rng.randint(0, 500)) / 100, best_bid
    mid = (best_bid + best_ask) / 2
    unit = mid * bps / 10_000
    sides = []
    for sign, best in ((-1, best_bid), (1, best_ask)):
        rows = [[best, 1]]
        ticks = 0
        for _ in range(rng.randint(0, levels)):
            if rng.random() < on_edges:
                k = rng.randint(1, 10_000 // bps + 3)
                towards = rng.choice([-1, 1]) if crossed else sign  # crossed: levels on both sides of mid
                price = mid + towards * k * unit + rng.choice([0, 0, D("-1e-8"), D("1e-8")])
            else:
                ticks += rng.choice([0, 1, 1, 2, 5, rng.randint(1, 500)])  # 0: a duplicate price
                price = best + sign * D(ticks) / 100
                if crossed:
                    price += D(rng.randint(-300, 300)) / 100
            if price > 0 and (crossed or sign * (price - best) >= 0):
                rows.append([price, rng.choice([1, 2, 3, 7])])
        sides.append(rows)
    out = []
    for best_first, rows in zip((True, False), sides, strict=True):
        rows.sort(key=lambda r: r[0], reverse=best_first)
        text_rows = []
        for price, orders in rows:
            size = D(int(rng.paretovariate(1.2) * 10**6)) / 10 ** rng.randint(0, 8)
            text_rows.append(
                [
                    format(price, "f"),
                    format(size, "f")
                    if plain
                    else rng.choice([str(size), f" {size} ", f"+{size}", format(size * 1000, "f") + "e-3"]),
                    orders,
                ]
            )
        for _ in range(int(len(text_rows) * bad)):
            row = rng.choice(text_rows)
            row[rng.randint(0, 1)] = rng.choice(BAD_TEXTS)
        if shuffle:
            rng.shuffle(text_rows)
        out.append(text_rows)
    return out[0], out[1]


def check(bids, asks, *, top: int, band_pct: Decimal, bps: int, orders: tuple = ()) -> None:
    book = reduce_book(bids, asks, top_levels=top, band_pct=band_pct, bucket_bps=bps, order_sizes=orders)
    want = reference(bids, asks, top=top, band_pct=band_pct, bps=bps, orders=orders)
    assert (book.best_bid, book.best_ask, book.mid, book.is_crossed) == want["touch"]
    assert [(b.side, b.bucket, b.size, b.notional, b.level_count) for b in book.profile] == want["profile"]
    for summary, side in ((book.bids, "bid"), (book.asks, "ask")):
        tail = summary.tail_start
        got = (summary.kept_rows, summary.level_count, summary.total_size, summary.excluded_levels)
        got += (None if tail is None else (tail.bucket, tail.size, tail.notional, tail.level_count),)
        assert got == want[side]


CASES = [  # crossed, on_edges, bad, shuffle, plain
    pytest.param(False, 0.0, 0.0, False, True, id="as-the-exchange-sends-it"),
    pytest.param(False, 0.5, 0.0, False, True, id="half-on-bucket-edges"),  # on, or a hair off, an edge
    pytest.param(False, 0.3, 0.05, False, True, id="bad-rows"),
    pytest.param(False, 0.3, 0.0, True, True, id="unsorted"),
    pytest.param(False, 0.3, 0.05, True, False, id="unsorted-bad-rows-other-spellings"),
    pytest.param(True, 0.3, 0.0, False, True, id="crossed"),
    pytest.param(True, 0.3, 0.05, True, True, id="crossed-unsorted-bad-rows"),
]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("crossed", "on_edges", "bad", "shuffle", "plain"), CASES)
def test_matches_the_reference_on_random_books(crossed, on_edges, bad, shuffle, plain, seed: int) -> None:
    rng = random.Random(f"{seed}:{crossed}:{on_edges}:{bad}:{shuffle}:{plain}")
    bps = rng.choice([5, 5, 1, 10, 7])
    band_pct = rng.choice([D(5), D(2), D("0.5"), D("0.12"), D(0)])
    bids, asks = random_book(
        rng, rng.choice([0, 5, 300]), crossed=crossed, on_edges=on_edges, bad=bad, bps=bps, shuffle=shuffle, plain=plain
    )
    orders = rng.choice([(), (D(10_000), D(100_000), D(1_000_000)), (D(500),), (D(1), D("1e9"))])
    check(bids, asks, top=rng.choice([0, 3, 100]), band_pct=band_pct, bps=bps, orders=orders)


def test_a_full_size_book_matches_the_reference_and_its_bands_are_sums_of_buckets() -> None:
    """~8k levels per side (a BTC book's ±5 % holds about that many); band KPIs rebuilt from buckets are exact."""
    rng = random.Random(2026)
    bids, asks = random_book(rng, 8_000, crossed=False, on_edges=0.1, bad=0.0, bps=5, shuffle=False)
    check(bids, asks, top=100, band_pct=D(5), bps=5, orders=(D(10_000), D(100_000), D(1_000_000)))
    book = reduce_book(bids, asks, top_levels=100, band_pct=D(5), bucket_bps=5)
    with localcontext(EXACT):
        for band in (D("0.1"), D("0.5"), D(1), D(2)):
            buckets_in_band = band * 100 / 5
            for side, rows in (("bid", bids), ("ask", asks)):
                levels = [(D(p), D(s)) for p, s, _ in rows if abs(D(p) - book.mid) <= band * book.mid / 100]
                from_buckets = [b for b in book.profile if b.side == side and b.bucket < buckets_in_band]
                assert sum(s for _, s in levels) == sum(b.size for b in from_buckets), (band, side)
                assert sum(p * s for p, s in levels) == sum(b.notional for b in from_buckets), (band, side)
                assert len(levels) == sum(b.level_count for b in from_buckets), (band, side)

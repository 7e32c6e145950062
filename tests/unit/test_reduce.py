"""The edge reduction is exact: hand-computed books, and random books against a plain reference implementation."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal, InvalidOperation

import pytest

from crypto_insights.landing.reduce import InvalidBook, reduce_book

D = Decimal


FIVE = D(5)


def reduce(bids, asks, top=100, band=FIVE, bps=5):
    return reduce_book(bids, asks, top_levels=top, band_pct=band, bucket_bps=bps)


def reference(bids, asks, band: Decimal, bps: int):
    """Per level, in the most obvious way: the definition of DESIGN §4, no bisect, no prefix sums."""
    def valid(rows):
        out = []
        for p, s, _ in rows:
            try:
                price, size = D(p), D(s)
            except InvalidOperation:
                continue
            if price.is_finite() and size.is_finite() and price > 0 and size > 0:
                out.append((price, size))
        return out

    vb, va = valid(bids), valid(asks)
    best_bid, best_ask = max(p for p, _ in vb), min(p for p, _ in va)
    mid = (best_bid + best_ask) / 2
    unit = mid * bps / 10_000
    buckets = defaultdict(lambda: [D(0), D(0), 0])
    for side, levels in (("bid", vb), ("ask", va)):
        for price, size in levels:
            distance = abs(price - mid)
            if distance > mid * band / 100:
                continue
            k = 0
            while distance > unit * (k + 1):
                k += 1
            entry = buckets[(side, k)]
            entry[0] += size
            entry[1] += price * size
            entry[2] += 1
    profile = sorted(((s, k, *v) for (s, k), v in buckets.items()), key=lambda r: (r[0] != "bid", r[1]))
    totals = (sum((s for _, s in vb), D(0)), sum((s for _, s in va), D(0)))
    return mid, profile, totals, (len(bids) - len(vb), len(asks) - len(va))


def test_hand_computed_book() -> None:
    # mid = 100; 5 bps bucket = 0.05; band 0.1 % = 0.1 -> buckets 0 and 1
    bids = [["99.99", "1", 1], ["99.95", "2", 1], ["99.94", "4", 2], ["99.9", "8", 1], ["99.89", "16", 1]]
    asks = [["100.01", "1.5", 1], ["100.05", "0.5", 3], ["100.1", "3", 1], ["100.2", "9", 1]]
    book = reduce(bids, asks, top=2, band=D("0.1"))
    assert (book.best_bid, book.best_ask, book.mid, book.is_crossed) == (D("99.99"), D("100.01"), D("100"), False)
    got = [(b.side, b.bucket, b.size, b.notional, b.level_count) for b in book.profile]
    assert got == [
        ("bid", 0, D("3"), D("99.99") + D("199.90"), 2),          # distance 0.01 and 0.05 (= one bucket: inclusive)
        ("bid", 1, D("12"), D("399.76") + D("799.2"), 2),         # 0.06 and 0.1 (band edge inclusive); 0.11 is out
        ("ask", 0, D("2.0"), D("150.015") + D("50.025"), 2),
        ("ask", 1, D("3"), D("300.3"), 1),
    ]
    assert book.bids.top_levels == bids[:2] and book.asks.top_levels is not asks
    assert (book.bids.level_count, book.bids.total_size, book.asks.total_size) == (5, D("31"), D("14.0"))


def test_verbatim_strings_and_bad_rows_counted_not_summed() -> None:
    bids = [["77580", "0.00010000", 1], ["77579.99", "-0.5", 1], ["abc", "1", 1], ["77579", "2", 4]]
    asks = [["77580.01", "0", 1], ["77580.02", "1", 2]]
    book = reduce(bids, asks)
    assert book.bids.top_levels[0] == ["77580", "0.00010000", 1]
    assert book.bids.top_levels[1][1] == "-0.5"  # kept for dbt to drop and count
    assert (book.bids.excluded_levels, book.asks.excluded_levels) == (2, 1)
    assert (book.bids.total_size, book.asks.total_size) == (D("2.0001"), D("1"))
    assert book.best_ask == D("77580.02")


def test_crossed_book_is_flagged_and_still_exact() -> None:
    bids = [["101", "1", 1], ["99", "1", 1]]
    asks = [["100", "2", 1], ["102", "1", 1]]
    book = reduce(bids, asks)
    assert book.is_crossed and book.mid == D("100.5")
    mid, profile, _, _ = reference(bids, asks, D(5), 5)
    assert [(b.side, b.bucket, b.size, b.notional, b.level_count) for b in book.profile] == profile


@pytest.mark.parametrize(
    ("bids", "message"),
    [
        (None, "bids: expected a list"),
        ([], "bids: the side is empty"),
        ([["1", "2"]], r"bids\[0\]: expected \[price string"),
        ([["1", 2, 1]], r"bids\[0\]: expected \[price string"),
        ([["x", "1", 1]], "bids: no row has a positive price and size"),
    ],
)
def test_structurally_broken_books_raise(bids, message) -> None:
    with pytest.raises(InvalidBook, match=message):
        reduce(bids, [["10", "1", 1]])


def _random_book(rng: random.Random, shuffle: bool, boundary_heavy: bool):
    mid_ticks = rng.randint(10_000, 2_000_000)
    bids, asks = [], []
    tick = D("0.01")
    unit_ticks = mid_ticks * 5 // 10_000  # a bucket width in ticks (approximately)
    for direction, rows in ((-1, bids), (1, asks)):
        t = mid_ticks + direction * rng.randint(1, 3)
        for _ in range(rng.randint(1, 400)):
            t += direction * (unit_ticks if boundary_heavy and rng.random() < 0.5 else rng.randint(1, 60))
            if t <= 0:
                break
            size = D(rng.randint(1, 10**6)) / 10**rng.randint(0, 8)
            rows.append([str(t * tick), str(size), rng.randint(1, 9)])
        if rng.random() < 0.2:
            rows.insert(rng.randrange(len(rows)), [str(t * tick), "-1", 1])
    if shuffle:
        rng.shuffle(bids)
        rng.shuffle(asks)
    return bids, asks


@pytest.mark.parametrize("seed", range(40))
def test_matches_the_reference_on_random_books(seed: int) -> None:
    rng = random.Random(seed)
    bids, asks = _random_book(rng, shuffle=seed % 4 == 0, boundary_heavy=seed % 2 == 1)
    band, bps = rng.choice([(D(5), 5), (D(2), 10), (D("0.5"), 1)])
    book = reduce(bids, asks, band=band, bps=bps)
    mid, profile, totals, excluded = reference(bids, asks, band, bps)
    assert book.mid == mid
    assert [(b.side, b.bucket, b.size, b.notional, b.level_count) for b in book.profile] == profile
    assert (book.bids.total_size, book.asks.total_size) == totals
    assert (book.bids.excluded_levels, book.asks.excluded_levels) == excluded


def test_band_sums_are_exact_sums_of_buckets() -> None:
    """Depth within 0.1/0.5/1/2 % measured on the levels equals the sum of that band's buckets."""
    rng = random.Random(99)
    bids, asks = _random_book(rng, shuffle=False, boundary_heavy=True)
    book = reduce(bids, asks)
    for band in (D("0.1"), D("0.5"), D(1), D(2)):
        last_bucket = int(band * 100 / 5) - 1
        for side, rows in (("bid", bids), ("ask", asks)):
            direct = sum((D(s) for p, s, _ in rows if D(s) > 0 and abs(D(p) - book.mid) <= band * book.mid / 100),
                         D(0))
            from_buckets = sum((b.size for b in book.profile if b.side == side and b.bucket <= last_bucket), D(0))
            assert direct == from_buckets, (band, side)

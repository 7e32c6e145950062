"""The edge reduction on hand-computed books: bucket and band edges, sides, crossed books, bad rows, broken books."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_insights.landing import reduce as reduce_module
from crypto_insights.landing.reduce import InvalidBook, ProfileBucket, reduce_book

D = Decimal


def reduce(bids, asks, top=100, band="5", bps=5):
    return reduce_book(bids, asks, top_levels=top, band_pct=D(band), bucket_bps=bps)


def buckets(book) -> list[tuple]:
    return [(b.side, b.bucket, b.size, b.notional, b.level_count) for b in book.profile]


# mid = 100, a 5 bps bucket is 0.05 wide, the 0.1 % band reaches 0.1 from mid: buckets 0 and 1.
BIDS = [
    ["99.99", "1", 1],  # d = 0.01 -> bucket 0
    ["99.95", "2", 1],  # d = 0.05, exactly one bucket width: still bucket 0
    ["99.94", "4", 2],  # d = 0.06 -> bucket 1
    ["99.9", "8", 1],  # d = 0.1, exactly the band edge: inside
    ["99.89", "16", 1],  # d = 0.11: outside the band
]
ASKS = [
    ["100.01", "1.5", 1],  # bucket 0
    ["100.05", "0.5", 3],  # on the edge of bucket 0
    ["100.05000001", "2", 1],  # just past it -> bucket 1
    ["100.1", "3", 1],  # band edge, inside
    ["100.10000001", "7", 1],  # just past the band
    ["100.2", "9", 1],
]


def test_bucket_and_band_edges_are_inclusive_on_the_outer_side() -> None:
    book = reduce(BIDS, ASKS, top=2, band="0.1")
    assert (book.best_bid, book.best_ask, book.mid, book.is_crossed) == (D("99.99"), D("100.01"), D(100), False)
    assert buckets(book) == [
        ("bid", 0, D(3), D("99.99") + D("199.90"), 2),
        ("bid", 1, D(12), D("399.76") + D("799.2"), 2),
        ("ask", 0, D(2), D("150.015") + D("50.025"), 2),
        ("ask", 1, D(5), D("200.10000002") + D("300.3"), 2),
    ]
    assert all(isinstance(b, ProfileBucket) for b in book.profile)
    # totals cover the whole side, in band or not
    assert (book.bids.level_count, book.bids.total_size, book.bids.excluded_levels) == (5, D(31), 0)
    assert (book.asks.level_count, book.asks.total_size, book.asks.excluded_levels) == (6, D(23), 0)
    assert book.bids.kept_rows == BIDS[:2] and book.asks.kept_rows == ASKS[:2]


def test_the_tail_starts_with_the_rest_of_the_farthest_kept_levels_bucket() -> None:
    book = reduce(BIDS, ASKS, top=2, band="0.1")
    # bids kept 99.99 and 99.95 fill bucket 0; asks kept 100.01 and 100.05 fill bucket 0 too: nothing is left of it
    assert (book.bids.tail_start.bucket, book.bids.tail_start.level_count, book.bids.tail_start.size) == (0, 0, 0)
    book = reduce(BIDS, ASKS, top=3, band="0.1")
    # the third ask (bucket 1) is kept; bucket 1 keeps 100.1 x 3 past it
    tail = book.asks.tail_start
    assert (tail.bucket, tail.size, tail.notional, tail.level_count) == (1, D(3), D("300.3"), 1)
    # a kept level outside the band: the profile has nothing past the kept rows
    assert reduce(BIDS, ASKS, top=5, band="0.1").bids.tail_start is None


def test_levels_are_kept_until_the_largest_order_the_band_can_fill_is_filled() -> None:
    """Asks within the 0.1 % band hold 150.015 + 50.025 + 200.10000002 + 300.3 = 700.44000002 USD."""
    book = reduce_book(
        BIDS, ASKS, top_levels=1, band_pct=D("0.1"), bucket_bps=5, order_sizes=(D(200), D(700), D(10**6))
    )
    # 700 is the largest order the band fills (10^6 is not): it is filled at the fourth ask, 100.1
    assert book.asks.kept_rows == ASKS[:4]
    assert book.asks.tail_start.level_count == 0  # every level of the band is kept
    # bids: 99.99 + 199.9 + 399.76 = 699.65 < 700 after three levels, so the fourth (99.9) fills it
    assert book.bids.kept_rows == BIDS[:4]
    # never fewer than top_levels
    assert (
        reduce_book(BIDS, ASKS, top_levels=5, band_pct=D("0.1"), bucket_bps=5, order_sizes=(D(1),)).asks.kept_rows
        == ASKS[:5]
    )


def test_a_band_that_is_not_a_whole_number_of_buckets_cuts_the_last_bucket_at_the_band() -> None:
    bids = [["99.99", "1", 1], ["99.88", "2", 1], ["99.87", "4", 1]]  # d = 0.12 (band edge) and 0.13 (out)
    book = reduce(bids, [["100.01", "1", 1]], band="0.12")
    assert buckets(book)[:2] == [("bid", 0, D(1), D("99.99"), 1), ("bid", 2, D(2), D("199.76"), 1)]


def test_a_zero_band_keeps_no_profile_but_whole_totals() -> None:
    book = reduce(BIDS, ASKS, band="0")
    assert book.profile == [] and book.bids.total_size == D(31) and book.asks.total_size == D(23)


def test_verbatim_rows_keep_their_strings_and_bad_rows_are_counted_not_summed() -> None:
    bids = [
        ["77580", "0.00010000", 1],
        ["77579.99", "-0.5", 1],  # negative size
        ["abc", "1", 1],  # not a number
        [None, "1", 1],  # JSON null: a missing value, dbt counts it as price_null
        ["77579.5", "0", 2],  # zero size
        ["77579.4", "NaN", 1],
        ["77579.3", "Infinity", 1],
        ["77579.2", "1_0", 1],  # Python reads it, PostgreSQL does not: not a number for the warehouse
        ["77579.1", "\u0663", 1],  # an Arabic-Indic digit: the same
        ["77579", "2", 4],
        ["77578", " 1.5 ", 1],  # dbt's number syntax allows surrounding blanks...
        ["77577", "2.5E-3", 1],  # ...and a short exponent
        ["77576", "1e0005", 1],  # but not a four-digit one
    ]
    asks = [["77580.01", "0", 1], ["77580.02", "1", 2]]
    book = reduce(bids, asks)
    assert book.bids.kept_rows == bids  # all of them, exactly as received
    assert book.bids.kept_rows[0] == ["77580", "0.00010000", 1] and book.bids.kept_rows[1][1] == "-0.5"
    assert (book.bids.excluded_levels, book.asks.excluded_levels) == (9, 1)
    assert (book.bids.total_size, book.asks.total_size) == (D("3.5026"), D(1))
    assert (book.bids.level_count, book.asks.level_count) == (13, 2)
    assert (book.best_bid, book.best_ask) == (D(77580), D("77580.02"))  # the zero-size ask is not the touch
    assert sum(b.level_count for b in book.profile) == 4 + 1


def test_zero_prices_in_otherwise_clean_sides_are_excluded() -> None:
    book = reduce([["10", "1", 1], ["0", "2", 1]], [["0.00", "4", 1], ["11", "8", 1]])
    assert (book.best_bid, book.best_ask, book.bids.total_size, book.asks.total_size) == (10, 11, 1, 8)
    assert (book.bids.excluded_levels, book.asks.excluded_levels) == (1, 1)


def test_the_kept_rows_are_copies() -> None:
    bids = [["99", "1", 1]]
    book = reduce(bids, [["101", "1", 1]])
    bids[0][1] = "5"
    assert book.bids.kept_rows == [["99", "1", 1]]


def test_a_crossed_book_is_flagged_and_each_level_bucketed_by_its_own_distance() -> None:
    # mid 100.5, bucket width 0.05025: distance 0.5 -> bucket 9 (0.45225 < 0.5 <= 0.5025), 1.5 -> bucket 29
    book = reduce([["101", "1", 1], ["99", "1", 1]], [["100", "2", 1], ["102", "1", 1]])
    assert book.is_crossed and book.mid == D("100.5")
    assert buckets(book) == [
        ("bid", 9, D(1), D(101), 1),
        ("bid", 29, D(1), D(99), 1),
        ("ask", 9, D(2), D(200), 1),
        ("ask", 29, D(1), D(102), 1),
    ]


def test_a_locked_book_counts_as_crossed() -> None:
    book = reduce([["100", "1", 1]], [["100", "2", 1]])
    assert book.is_crossed and buckets(book) == [("bid", 0, D(1), D(100), 1), ("ask", 0, D(2), D(200), 1)]


def test_an_unsorted_side_is_reduced_as_if_sorted_and_keeps_its_best_rows() -> None:
    bids = [["99", "1", 1], ["101", "1", 1], ["abc", "1", 1], ["100", "2", 1], ["100", "3", 1]]
    asks = [["103", "1", 1], ["102", "1", 1]]
    book = reduce(bids, asks, top=3)
    assert book.bids.kept_rows == [["101", "1", 1], ["100", "2", 1], ["100", "3", 1]]  # ties keep their order
    assert book.asks.kept_rows == [["102", "1", 1], ["103", "1", 1]]
    assert reduce(bids, asks, top=5).bids.kept_rows[3:] == [["99", "1", 1], ["abc", "1", 1]]
    ordered = reduce(sorted(bids[:2] + bids[3:], key=lambda r: -D(r[0])), sorted(asks, key=lambda r: D(r[0])))
    assert buckets(book) == buckets(ordered) and book.bids.total_size == ordered.bids.total_size == D(7)
    assert (book.bids.excluded_levels, book.best_bid, book.best_ask) == (1, D(101), D(102))


def test_sorted_rows_with_a_bad_price_are_kept_in_place() -> None:
    bids = [["abc", "1", 1], ["99", "1", 1], ["98", "1", 1]]
    assert reduce(bids, [["101", "1", 1]], top=2).bids.kept_rows == bids[:2]


def test_the_bulk_and_the_row_by_row_paths_give_the_same_numbers(monkeypatch) -> None:
    bids = [[format((10_000 - D(i) * 3 / 7).quantize(D("0.00001")), "f"), f"0.{i:04d}", 1] for i in range(1, 400)]
    asks = [[format(10_001 + D(i) / 8, "f"), str(i + 1), 1] for i in range(400)]
    slow = reduce(bids + [["1", "-1", 1]], asks + [["x", "1", 1]], band="1", bps=3)  # forces the row-by-row path
    monkeypatch.setattr(reduce_module, "_any_side", None)  # the clean book must not need it
    fast = reduce(bids, asks, band="1", bps=3)
    assert list(map(str, fast.profile)) == list(map(str, slow.profile))  # same values, same written form
    assert str(fast.bids.total_size) == str(slow.bids.total_size) and str(fast.mid) == str(slow.mid)
    assert (slow.bids.excluded_levels, slow.asks.excluded_levels, fast.bids.excluded_levels) == (1, 1, 0)


@pytest.mark.parametrize(
    ("bids", "message"),
    [
        (None, "bids: expected a list of .* got NoneType"),
        ({"77580": "1"}, "bids: expected a list of .* got dict"),
        ([], "bids: the side is empty"),
        ([["1", "2"]], r"bids\[0\]: expected a \[price, size, num_orders\] row, got \['1', '2'\]"),
        ([["10", "1", 1], ["1", "2", 3, 4]], r"bids\[1\]: expected a \[price, size, num_orders\] row"),
        ([["10", "1", 1], "abc"], r"bids\[1\]: expected a \[price, size, num_orders\] row, got 'abc'"),
        ([["10", "1", 1], {"a": 1, "b": 2, "c": 3}], r"bids\[1\]: expected"),
        ([["10", "1", 1], None], r"bids\[1\]: expected"),
        ([["10", 1.5, 1]], r"bids\[0\]: size 1.5 is not a string"),
        ([["10", "1", 1], [77580.5, "1", 1]], r"bids\[1\]: price 77580.5 is not a string"),
        ([["x", "1", 1], ["10", "-1", 1]], "bids: none of the 2 rows has a positive price and size"),
        ([[None, None, 1]], "bids: none of the 1 rows"),
    ],
)
def test_structurally_broken_books_raise(bids, message) -> None:
    with pytest.raises(InvalidBook, match=message):
        reduce(bids, [["11", "1", 1]])


def test_an_empty_ask_side_raises_too() -> None:
    with pytest.raises(InvalidBook, match="asks: the side is empty"):
        reduce([["10", "1", 1]], [])


@pytest.mark.parametrize(("top", "band", "bps"), [(100, "5", 0), (100, "-1", 5), (-1, "5", 5), (100, "NaN", 5)])
def test_bad_settings_are_not_blamed_on_the_book(top, band, bps) -> None:
    with pytest.raises(ValueError) as caught:
        reduce([["10", "1", 1]], [["11", "1", 1]], top=top, band=band, bps=bps)
    assert not isinstance(caught.value, InvalidBook)

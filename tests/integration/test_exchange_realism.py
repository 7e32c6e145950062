"""Generated books look like Coinbase's and evolve deterministically: checked over real HTTP."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from decimal import Decimal

import pytest
from tests.integration.exchange_helpers import PLAIN_NUMBER, get_book, levels, mid_of, small_settings

from crypto_insights.config import load_settings
from crypto_insights.exchange.book_model import SimulatedBook

SETTINGS = load_settings()


@pytest.mark.parametrize("product", SETTINGS.product_ids)
def test_books_are_sorted_on_tick_plain_and_never_crossed(exchange, http, product) -> None:
    symbol = SETTINGS.symbol(product)
    for _ in range(3):
        book = get_book(http, exchange, product)
        for side in ("bids", "asks"):
            rows = book[side]
            assert all(PLAIN_NUMBER.match(p) and PLAIN_NUMBER.match(s) for p, s, _ in rows), side
            parsed = levels(rows)
            prices = [p for p, _, _ in parsed]
            assert prices == sorted(set(prices), reverse=side == "bids"), f"{side} not strictly sorted best first"
            assert all(p > 0 and p % symbol.quote_increment == 0 for p in prices)
            assert all(s > 0 and s % symbol.base_increment == 0 for _, s, _ in parsed)
            assert all(type(n) is int and n >= 1 for _, _, n in parsed)
        assert Decimal(book["bids"][0][0]) < Decimal(book["asks"][0][0])


@pytest.mark.parametrize("product", SETTINGS.product_ids)
def test_level_counts_follow_the_config(exchange, http, product) -> None:
    configured = SETTINGS.symbol(product).simulated_levels_per_side
    book = get_book(http, exchange, product)
    for side in ("bids", "asks"):
        # ADA-USD at 0.45 has only 4,500 ticks below the mid: its bid side holds what fits (~92 %)
        assert 0.85 * configured <= len(book[side]) <= 1.1 * configured, (side, len(book[side]))


def test_sequence_and_time_strictly_increase_across_levels(exchange, http) -> None:
    books = [get_book(http, exchange, "BTC-USD", level) for level in (1, 2, 1, 1, 2, 1)]
    sequences, times = [b["sequence"] for b in books], [b["time"] for b in books]
    assert sequences == sorted(set(sequences)) and times == sorted(set(times))
    assert exchange.book_steps()["BTC-USD"] == 6


def test_btc_book_is_sparse_wide_and_dense_near_the_touch(exchange, http) -> None:
    book = get_book(http, exchange, "BTC-USD")
    mid = mid_of(book)
    for side in ("bids", "asks"):
        prices = [p for p, _, _ in levels(book[side])]
        within_5pct = sum(1 for p in prices if abs(p - mid) <= mid * Decimal("0.05"))
        assert 2_000 <= within_5pct <= 12_000, (side, within_5pct)  # "a few thousand" within ±5 %
        gaps = [abs(b - a) for a, b in zip(prices, prices[1:], strict=False)]
        near, middle, far = (statistics.median(gaps[i : i + 200]) for i in (0, 2_000, 15_000))
        assert near < middle < far, (side, near, middle, far)  # gaps grow away from mid
        assert near <= Decimal("0.02")  # at the touch nearly every cent holds a level
    assert Decimal(book["bids"][-1][0]) < mid * Decimal("0.2")
    assert Decimal(book["asks"][-1][0]) > mid * 3


def test_spread_is_one_tick_most_of_the_time_and_mid_walks(exchange, http) -> None:
    tick = SETTINGS.symbol("BTC-USD").quote_increment
    books = [get_book(http, exchange, "BTC-USD", level=1) for _ in range(40)]
    spreads = [Decimal(b["asks"][0][0]) - Decimal(b["bids"][0][0]) for b in books]
    assert all(s > 0 for s in spreads)
    assert sum(1 for s in spreads if s == tick) >= 0.6 * len(spreads)
    mids = [mid_of(b) for b in books]
    assert len(set(mids)) > 20  # it moves...
    start = SETTINGS.symbol("BTC-USD").simulated_start_price
    assert all(abs(m - start) / start < Decimal("0.05") for m in mids)  # ...as a random walk, not a drift


def test_sizes_are_heavy_tailed_with_dust_and_bot_ladders(exchange, http) -> None:
    book = get_book(http, exchange, "BTC-USD")
    sizes = [s for side in ("bids", "asks") for _, s, _ in levels(book[side])]
    median = statistics.median(sizes)
    assert sum(1 for s in sizes if s <= Decimal("0.00001")) >= 0.02 * len(sizes)  # dust
    assert max(sizes) / median >= 100
    top_1pct = sorted(sizes, reverse=True)[: len(sizes) // 100]
    assert sum(top_1pct) >= Decimal("0.2") * sum(sizes)  # a fat tail holds much of the size
    repeated = Counter(sizes).most_common(3)
    assert all(count >= 100 for _, count in repeated)  # the same round sizes, level after level
    orders = [n for side in ("bids", "asks") for _, _, n in book[side]]
    assert 1 in orders and max(orders) >= 5


def _walls(book: dict, floor: Decimal) -> dict[tuple[str, Decimal], Decimal]:
    """Levels within 3.5 % of mid whose notional is >= the floor and >= 20x the side's median within 2 %."""
    mid = mid_of(book)
    found = {}
    for side in ("bids", "asks"):
        parsed = levels(book[side])
        near = [p * s for p, s, _ in parsed if abs(p - mid) <= mid * Decimal("0.02")]
        threshold = max(floor, 20 * statistics.median(near))
        for price, size, _ in parsed:
            if abs(price - mid) > mid * Decimal("0.035"):
                break
            if price * size >= threshold:
                found[(side, price)] = price * size
    return found


@pytest.mark.parametrize("product", ["BTC-USD", "DOGE-USD"])
def test_whale_walls_appear_persist_and_vanish(exchange_factory, http, product) -> None:
    exchange = exchange_factory(settings=small_settings(2_000, (product,)))
    floor = SETTINGS.symbol(product).whale_floor_usd
    history = [set(_walls(get_book(http, exchange, product), floor)) for _ in range(50)]
    runs = []  # (key, first step, steps present in a row)
    for key in set().union(*history):
        for start, present in enumerate(history):
            if key in present and (start == 0 or key not in history[start - 1]):
                length = next((i for i, h in enumerate(history[start:]) if key not in h), len(history) - start)
                runs.append((key, start, length))
    appeared_and_vanished = [r for r in runs if r[1] > 0 and r[1] + r[2] < len(history)]
    assert any(length >= 3 for _, _, length in appeared_and_vanished), runs
    assert len({key[0] for key, _, _ in runs}) == 2  # on both sides over 50 steps
    model = exchange.market.book(product)
    last = _walls(get_book(http, exchange, product), floor)
    for side, price, notional in model.walls():  # the model's walls are all visible in the book
        assert (side, price) in last and last[(side, price)] >= notional


def test_same_seed_same_books_other_seed_other_books(exchange_factory, http) -> None:
    settings = small_settings(1_500, ("DOGE-USD", "ETH-USD"))
    a, b = exchange_factory(settings=settings, seed=11), exchange_factory(settings=settings, seed=11)
    c = exchange_factory(settings=settings, seed=12)

    def bodies(exchange, ticker_between: bool) -> list[dict]:
        out = []
        for _ in range(4):
            book = get_book(http, exchange, "DOGE-USD")
            del book["time"]  # the wall clock
            out.append(book)
            if ticker_between:  # tickers and other products never disturb a product's books
                http.get(f"{exchange.url}/products/DOGE-USD/ticker").raise_for_status()
                get_book(http, exchange, "ETH-USD")
        return out

    first, second, other = bodies(a, False), bodies(b, True), bodies(c, False)
    assert first == second
    assert all(x["bids"] != y["bids"] for x, y in zip(first, other, strict=True))
    rebuilt = SimulatedBook.at_step(settings.symbol("DOGE-USD"), 11, 3)
    assert [json.loads(r) for r in rebuilt.asks.rows] == first[3]["asks"]
    assert rebuilt.sequence == first[3]["sequence"]


def test_books_stay_realistic_over_many_steps() -> None:
    """A long run of the model itself (no HTTP): level count, shape and touch stay calibrated."""
    symbol = SETTINGS.symbol("ETH-USD")
    book = SimulatedBook(symbol, seed=3)
    for step in range(300):
        book.step()
        assert book.best_bid < book.best_ask, step
    mid = book.mid
    for name in ("bids", "asks"):
        side = book.levels(name)
        assert 0.9 * symbol.simulated_levels_per_side <= len(side) <= 1.1 * symbol.simulated_levels_per_side
        within = sum(1 for p, _, _ in side if abs(p - mid) <= mid * Decimal("0.05"))
        assert 1_500 <= within <= 6_000, (name, within)
        touch_gaps = [abs(b[0] - a[0]) for a, b in zip(side[:20], side[1:21], strict=True)]
        assert statistics.median(touch_gaps) <= 2 * symbol.quote_increment, (name, touch_gaps)

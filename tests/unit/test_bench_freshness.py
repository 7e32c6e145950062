"""How the freshness benchmark decides when a landed slot became visible in the 30 s mart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.bench_freshness import _visibility

W = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return W + timedelta(seconds=seconds)


def test_a_slot_is_visible_once_its_window_row_counts_it() -> None:
    landed = [("BTC-USD", at(0)), ("BTC-USD", at(10)), ("BTC-USD", at(20))]
    # the mart showed the window with 1 slot at +14 s, then with all 3 at +41 s
    seen = {("BTC-USD", W, 1): at(14), ("BTC-USD", W, 3): at(41)}
    lags, invisible = _visibility(landed, seen, 30)
    assert lags == [14.0, 31.0, 21.0] and invisible == 0


def test_a_slot_never_counted_is_reported_not_guessed() -> None:
    landed = [("ETH-USD", at(0)), ("ETH-USD", at(10)), ("ETH-USD", at(30))]
    seen = {("ETH-USD", W, 1): at(12)}
    lags, invisible = _visibility(landed, seen, 30)
    assert lags == [12.0] and invisible == 2


def test_products_and_windows_are_counted_apart() -> None:
    landed = [("BTC-USD", at(0)), ("ETH-USD", at(0)), ("BTC-USD", at(30))]
    seen = {("BTC-USD", W, 1): at(5), ("ETH-USD", W, 1): at(8), ("BTC-USD", at(30), 1): at(40)}
    lags, invisible = _visibility(landed, seen, 30)
    assert sorted(lags) == [5.0, 8.0, 10.0] and invisible == 0

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crypto_insights.landing.slots import floor_slot, next_slot, source_label, window_slots


def test_floor_and_next_slot_sit_on_wall_clock_boundaries() -> None:
    ts = datetime(2026, 11, 25, 12, 0, 17, 500_000, tzinfo=UTC)
    assert floor_slot(ts, 10) == datetime(2026, 11, 25, 12, 0, 10, tzinfo=UTC)
    assert next_slot(ts, 10) == datetime(2026, 11, 25, 12, 0, 20, tzinfo=UTC)
    on_boundary = datetime(2026, 11, 25, 12, 0, 20, tzinfo=UTC)
    assert next_slot(on_boundary, 10) == on_boundary == floor_slot(on_boundary, 10)


def test_other_timezones_are_normalised_to_utc() -> None:
    ts = datetime(2026, 11, 25, 13, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert floor_slot(ts, 10) == datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        floor_slot(datetime(2026, 11, 25), 10)


def test_window_slots() -> None:
    first = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert window_slots(first, 10, 3) == [first, first + timedelta(seconds=10), first + timedelta(seconds=20)]


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://api.exchange.coinbase.com", "coinbase"),
        ("https://api.exchange.coinbase.com/", "coinbase"),
        ("http://127.0.0.1:8765", "simulated"),
        ("https://api.exchange.coinbase.com.evil.example", "simulated"),
    ],
)
def test_source_label(url: str, label: str) -> None:
    assert source_label(url) == label

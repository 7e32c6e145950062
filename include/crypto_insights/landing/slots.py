"""Wall-clock slots: every `slot_seconds` (10 s) on boundaries, `slot_at = floor(now, slot)`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

COINBASE_HOSTS = frozenset({"api.exchange.coinbase.com"})


def floor_slot(ts: datetime, slot_seconds: int) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("slot times must be timezone-aware (UTC)")
    epoch = int(ts.timestamp())
    return datetime.fromtimestamp(epoch - epoch % slot_seconds, tz=UTC)


def next_slot(ts: datetime, slot_seconds: int) -> datetime:
    """The first slot boundary at or after `ts`."""
    floored = floor_slot(ts, slot_seconds)
    return floored if floored == ts else floored + timedelta(seconds=slot_seconds)


def window_slots(first: datetime, slot_seconds: int, count: int) -> list[datetime]:
    return [first + timedelta(seconds=slot_seconds * i) for i in range(count)]


def source_label(api_url: str) -> str:
    """`coinbase` for the real exchange, `simulated` for anything else (the offline exchange)."""
    return "coinbase" if (urlsplit(api_url).hostname or "") in COINBASE_HOSTS else "simulated"

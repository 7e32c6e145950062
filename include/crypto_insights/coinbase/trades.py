"""`GET /products/{id}/trades`: one page of prints, newest first, kept as received.

Coinbase pages trades by id: no cursor gives the newest `limit` prints, ``after=<id>`` the prints older than `id`
(``CB-AFTER`` names the oldest id of a page, ``CB-BEFORE`` the newest). Trade ids of a product have no gaps, so the
landing knows exactly what it has not seen. ``side`` is the **maker's** side: a ``"sell"`` print was taken by a
buyer; the warehouse inverts it (docs/architecture.md#trades).

Only what keys a print is checked here (an int ``trade_id`` and a parseable ``time``): a page missing those cannot
be landed and is recorded as an error. Price, size and side are kept as sent, for the warehouse's drop rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crypto_insights.coinbase.models import CallMeta, _Checker, _short

TRADE_FIELDS = frozenset({"time", "trade_id", "price", "size", "side"})
MAX_LIMIT = 1000  # Coinbase's largest page


@dataclass(frozen=True)
class Trade:
    trade_id: int
    traded_at: datetime  # parsed from `time`: the print's partition key
    time: str  # as received
    price: Any  # as received (a number as a string when well formed)
    size: Any
    side: Any  # the maker's side, as received
    rescued: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TradesPage:
    product_id: str
    trades: list[Trade]  # newest first, as served
    requested_at: datetime | None = None
    received_at: datetime | None = None
    attempts: int = 1
    body_bytes: int = 0
    url: str | None = None

    @property
    def newest_id(self) -> int | None:
        return max((t.trade_id for t in self.trades), default=None)

    @property
    def oldest_id(self) -> int | None:
        return min((t.trade_id for t in self.trades), default=None)


def _as_text(value: Any) -> Any:
    """Strings stay as sent; anything else keeps its JSON spelling so the warehouse can judge and count it."""
    return value if isinstance(value, str) or value is None else json.dumps(value)


def parse_trades(product_id: str, payload: Any, meta: CallMeta | None = None, body: bytes | None = None) -> TradesPage:
    check = _Checker(product_id, "trades", payload, body, meta)
    if not isinstance(payload, list):
        raise check.fail(f"expected a JSON array of prints, got {type(payload).__name__}")
    trades = []
    for i, row in enumerate(payload):
        if not isinstance(row, dict):
            raise check.fail(f"print #{i} is not a JSON object: {_short(row)}")
        check.require(row, ("trade_id", "time"))
        trade_id = check.typed(row, "trade_id", int, "an integer")
        stamp = check.typed(row, "time", str, "an ISO-8601 time string")
        try:
            traded_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            what = f"print {trade_id}: field 'time' is not an ISO-8601 time: {_short(stamp)}"
            raise check.fail(what, "time") from None
        if traded_at.tzinfo is None:
            raise check.fail(f"print {trade_id}: field 'time' has no time zone: {_short(stamp)}", "time")
        trades.append(
            Trade(
                trade_id=trade_id,
                traded_at=traded_at,
                time=stamp,
                price=_as_text(row.get("price")),
                size=_as_text(row.get("size")),
                side=_as_text(row.get("side")),
                rescued={k: v for k, v in row.items() if k not in TRADE_FIELDS},
            )
        )
    extra = {}
    if meta is not None:
        extra = {
            "requested_at": meta.requested_at,
            "received_at": meta.received_at,
            "attempts": meta.attempts,
            "body_bytes": meta.body_bytes,
            "url": meta.url,
        }
    return TradesPage(product_id=product_id, trades=trades, **extra)

"""Typed views of the book and ticker responses: values kept exactly as received, unknown fields rescued.

Numbers stay the strings the exchange sent (landing stores them verbatim); :class:`decimal.Decimal` is made
only where a typed value is asked for (:meth:`BookResponse.levels`, :meth:`TickerResponse.decimal`).
Fields this module does not know are kept in ``rescued`` (schema drift) instead of being dropped; a missing
or mistyped known field raises :class:`InvalidPayload` naming it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from crypto_insights.coinbase.errors import InvalidPayload, excerpt

BOOK_FIELDS = frozenset({"bids", "asks", "sequence", "auction_mode", "auction", "time"})
BOOK_REQUIRED = ("bids", "asks", "sequence", "time")
TICKER_FIELDS = frozenset(
    {"ask", "bid", "volume", "trade_id", "price", "size", "time", "rfq_volume", "conversions_volume"}
)
TICKER_NUMBERS = ("price", "bid", "ask", "volume", "size")
TICKER_REQUIRED = (*TICKER_NUMBERS, "time", "trade_id")
TICKER_OPTIONAL_NUMBERS = ("rfq_volume", "conversions_volume")

Side = Literal["bids", "asks"]


@dataclass(frozen=True)
class CallMeta:
    """What one client call cost: the attempt that answered, how many were made, and the body size."""

    url: str
    status: int
    attempts: int
    requested_at: datetime  # UTC, when the answering attempt was sent
    received_at: datetime  # UTC, when its whole body had arrived
    body_bytes: int


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    size: Decimal
    num_orders: int


@dataclass(frozen=True)
class BookResponse:
    """`GET /products/{id}/book?level=1|2`: rows ``[price_str, size_str, num_orders]`` exactly as received."""

    product_id: str
    bids: list[list[Any]]
    asks: list[list[Any]]
    sequence: int
    exchange_time: str
    auction_mode: bool | None
    auction: Any
    rescued: dict[str, Any] = field(default_factory=dict)
    requested_at: datetime | None = None
    received_at: datetime | None = None
    attempts: int = 1
    body_bytes: int = 0
    url: str | None = None

    def levels(self, side: Side, limit: int | None = None) -> Iterator[BookLevel]:
        """The first ``limit`` levels of a side (best first) as Decimals; no float on the way."""
        rows = self.bids if side == "bids" else self.asks
        for row in rows if limit is None else rows[:limit]:
            yield BookLevel(Decimal(row[0]), Decimal(row[1]), row[2])

    @property
    def best_bid(self) -> BookLevel | None:
        return next(self.levels("bids", 1), None)

    @property
    def best_ask(self) -> BookLevel | None:
        return next(self.levels("asks", 1), None)


@dataclass(frozen=True)
class TickerResponse:
    """`GET /products/{id}/ticker`: every number a string as received, ``trade_id`` an int."""

    product_id: str
    price: str
    size: str
    bid: str
    ask: str
    volume: str
    trade_id: int
    time: str
    rfq_volume: str | None = None
    conversions_volume: str | None = None
    rescued: dict[str, Any] = field(default_factory=dict)
    requested_at: datetime | None = None
    received_at: datetime | None = None
    attempts: int = 1
    body_bytes: int = 0
    url: str | None = None

    def decimal(self, name: str) -> Decimal | None:
        """A numeric field (``price``, ``bid``, ``ask``, ``size``, ``volume``...) as an exact Decimal."""
        if name not in TICKER_NUMBERS and name not in TICKER_OPTIONAL_NUMBERS:
            raise ValueError(
                f"{name!r} is not a numeric ticker field; numeric fields: "
                f"{', '.join(TICKER_NUMBERS + TICKER_OPTIONAL_NUMBERS)}"
            )
        value = getattr(self, name)
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ValueError(f"ticker {self.product_id} field {name!r} is not a number: {value!r}") from None


class _Checker:
    """Raises InvalidPayload with the product, endpoint, field and an excerpt of the body."""

    def __init__(self, product_id: str, endpoint: str, payload: Any, body: bytes | None, meta: CallMeta | None) -> None:
        self.product_id, self.endpoint, self.payload, self.body, self.meta = (product_id, endpoint, payload, body, meta)

    def fail(self, reason: str, field_name: str | None = None) -> InvalidPayload:
        if self.body is not None:
            body_excerpt = excerpt(self.body)
        else:
            body_excerpt = excerpt(json.dumps(self.payload, default=str))
        return InvalidPayload(
            self.product_id,
            self.endpoint,
            reason,
            body_excerpt,
            field=field_name,
            attempts=self.meta.attempts if self.meta else 1,
            status=self.meta.status if self.meta else None,
            url=self.meta.url if self.meta else None,
        )

    def mapping(self) -> dict[str, Any]:
        if not isinstance(self.payload, dict):
            raise self.fail(f"expected a JSON object, got a JSON {_json_type(self.payload)}")
        return self.payload

    def require(self, data: dict[str, Any], names: tuple[str, ...]) -> None:
        missing = [n for n in names if n not in data]
        if missing:
            raise self.fail(
                f"required field(s) {', '.join(repr(n) for n in missing)} missing "
                f"(fields present: {', '.join(sorted(data)) or 'none'})",
                missing[0],
            )

    def typed(self, data: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = data.get(name)
        # bool is an int in Python but never a valid sequence or trade id
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
            raise self.fail(f"field {name!r} must be {what}, got {_json_type(value)} {_short(value)}", name)
        return value

    def number_string(self, data: dict[str, Any], name: str) -> str:
        value = self.typed(data, name, str, "a number as a string")
        try:
            ok = Decimal(value).is_finite()
        except InvalidOperation:
            ok = False
        if not ok:
            raise self.fail(f"field {name!r} must be a number as a string, got {_short(value)}", name)
        return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _json_type(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "number",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _meta_fields(meta: CallMeta | None) -> dict[str, Any]:
    if meta is None:
        return {}
    return {
        "requested_at": meta.requested_at,
        "received_at": meta.received_at,
        "attempts": meta.attempts,
        "body_bytes": meta.body_bytes,
        "url": meta.url,
    }


def _check_side(check: _Checker, data: dict[str, Any], side: str) -> list[list[Any]]:
    """The side must be a list; its first row is checked for the level-1/2 shape.

    Rows are not all checked here: a BTC book has ~44k of them and the values (price > 0, size > 0) are
    the data-quality rules of the warehouse, which count rejected rows instead of losing the snapshot.
    """
    rows = check.typed(data, side, list, "an array of [price, size, num_orders] rows")
    if rows:
        row = rows[0]
        if not (
            isinstance(row, list)
            and len(row) == 3
            and isinstance(row[0], str)
            and isinstance(row[1], str)
            and isinstance(row[2], int)
            and not isinstance(row[2], bool)
        ):
            raise check.fail(
                f"field {side!r}: rows must be [price:string, size:string, num_orders:int], first row is {_short(row)}",
                side,
            )
    return rows


def parse_book(product_id: str, payload: Any, meta: CallMeta | None = None, body: bytes | None = None) -> BookResponse:
    """Build a BookResponse from the decoded JSON of a book response (``body``: the raw bytes, for errors)."""
    check = _Checker(product_id, "book", payload, body, meta)
    data = check.mapping()
    check.require(data, BOOK_REQUIRED)
    bids = _check_side(check, data, "bids")
    asks = _check_side(check, data, "asks")
    sequence = check.typed(data, "sequence", int, "an integer")
    exchange_time = check.typed(data, "time", str, "an ISO-8601 time string")
    auction_mode = data.get("auction_mode")
    if auction_mode is not None:
        check.typed(data, "auction_mode", bool, "a boolean")
    return BookResponse(
        product_id=product_id,
        bids=bids,
        asks=asks,
        sequence=sequence,
        exchange_time=exchange_time,
        auction_mode=auction_mode,
        auction=data.get("auction"),
        rescued={k: v for k, v in data.items() if k not in BOOK_FIELDS},
        **_meta_fields(meta),
    )


def parse_ticker(
    product_id: str, payload: Any, meta: CallMeta | None = None, body: bytes | None = None
) -> TickerResponse:
    """Build a TickerResponse from the decoded JSON of a ticker response."""
    check = _Checker(product_id, "ticker", payload, body, meta)
    data = check.mapping()
    check.require(data, TICKER_REQUIRED)
    numbers = {name: check.number_string(data, name) for name in TICKER_NUMBERS}
    # optional fields are kept as sent (string or null) and never cost the ticker its landing
    optional = {
        name: check.typed(data, name, str, "a number as a string") if data.get(name) is not None else None
        for name in TICKER_OPTIONAL_NUMBERS
    }
    return TickerResponse(
        product_id=product_id,
        **numbers,
        **optional,
        trade_id=check.typed(data, "trade_id", int, "an integer"),
        time=check.typed(data, "time", str, "an ISO-8601 time string"),
        rescued={k: v for k, v in data.items() if k not in TICKER_FIELDS},
        **_meta_fields(meta),
    )

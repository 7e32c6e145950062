"""One slot's worth of raw rows (books, tickers, ingest errors), built from what the client fetched.

Rows are plain JSON-able dicts so that a batch the database could not take can be spooled to disk as it is
and landed later, unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from crypto_insights.config import Settings
from crypto_insights.landing.reduce import InvalidBook, ReducedBook, TailStart, reduce_book

BOOK_COLUMNS = (
    "product_id",
    "slot_at",
    "source",
    "sequence",
    "bids",
    "asks",
    "profile_mid",
    "profile_band_pct",
    "profile_bucket_bps",
    "profile",
    "bid_levels_total",
    "ask_levels_total",
    "bid_levels_kept",
    "ask_levels_kept",
    "bid_levels_excluded",
    "ask_levels_excluded",
    "bid_size_total",
    "ask_size_total",
    "bid_tail_bucket",
    "bid_tail_size",
    "bid_tail_notional",
    "bid_tail_levels",
    "ask_tail_bucket",
    "ask_tail_size",
    "ask_tail_notional",
    "ask_tail_levels",
    "is_crossed",
    "auction_mode",
    "body_bytes",
    "_rescued_data",
    "exchange_time",
    "requested_at",
    "received_at",
)
TICKER_COLUMNS = (
    "product_id",
    "slot_at",
    "source",
    "trade_id",
    "price",
    "size",
    "bid",
    "ask",
    "volume",
    "rfq_volume",
    "conversions_volume",
    "_rescued_data",
    "exchange_time",
    "requested_at",
    "received_at",
)
ERROR_COLUMNS = (
    "product_id",
    "slot_at",
    "endpoint",
    "source",
    "error_kind",
    "reason",
    "http_status",
    "attempts",
    "body_excerpt",
    "first_trade_id",
    "last_trade_id",
)
JSON_COLUMNS = frozenset({"bids", "asks", "profile", "_rescued_data"})
BODY_EXCERPT_CHARS = 2000


@dataclass
class SlotBatch:
    slot_at: str
    source: str
    books: list[dict[str, Any]] = field(default_factory=list)
    tickers: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SlotBatch:
        return cls(**json.loads(text))


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def error_kind(exc: BaseException) -> str:
    """`ExchangeUnavailable` -> `exchange_unavailable`, `ExchangeHTTPError` -> `exchange_http_error`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", type(exc).__name__).lower()


def error_row(product_id: str, slot_at: str, endpoint: str, source: str, exc: BaseException) -> dict:
    excerpt = getattr(exc, "body_excerpt", None)
    if isinstance(excerpt, bytes):
        excerpt = excerpt.decode("utf-8", errors="replace")
    return {
        "product_id": product_id,
        "slot_at": slot_at,
        "endpoint": endpoint,
        "source": source,
        "error_kind": error_kind(exc),
        "reason": str(exc),
        "http_status": getattr(exc, "status", None),
        "attempts": getattr(exc, "attempts", None),
        "body_excerpt": excerpt[:BODY_EXCERPT_CHARS] if excerpt else None,
    }


def _book_row(book: Any, reduced: ReducedBook, slot_at: str, source: str, settings: Settings) -> dict:
    profile = [[b.side, b.bucket, str(b.size), str(b.notional), b.level_count] for b in reduced.profile]
    return {
        "product_id": book.product_id,
        "slot_at": slot_at,
        "source": source,
        "sequence": book.sequence,
        "bids": reduced.bids.kept_rows,
        "asks": reduced.asks.kept_rows,
        "profile_mid": str(reduced.mid),
        "profile_band_pct": str(settings.ingest.profile_band_pct),
        "profile_bucket_bps": settings.ingest.profile_bucket_bps,
        "profile": profile,
        "bid_levels_total": reduced.bids.level_count,
        "ask_levels_total": reduced.asks.level_count,
        "bid_levels_kept": len(reduced.bids.kept_rows),
        "ask_levels_kept": len(reduced.asks.kept_rows),
        "bid_levels_excluded": reduced.bids.excluded_levels,
        "ask_levels_excluded": reduced.asks.excluded_levels,
        "bid_size_total": str(reduced.bids.total_size),
        "ask_size_total": str(reduced.asks.total_size),
        **_tail_columns("bid", reduced.bids.tail_start),
        **_tail_columns("ask", reduced.asks.tail_start),
        "is_crossed": reduced.is_crossed,
        "auction_mode": book.auction_mode,
        "body_bytes": book.body_bytes,
        "_rescued_data": book.rescued or None,
        "exchange_time": book.exchange_time,
        "requested_at": _iso(book.requested_at),
        "received_at": _iso(book.received_at),
    }


def _tail_columns(side: str, tail: TailStart | None) -> dict:
    values = (None,) * 4 if tail is None else (tail.bucket, str(tail.size), str(tail.notional), tail.level_count)
    return dict(zip((f"{side}_tail_{c}" for c in ("bucket", "size", "notional", "levels")), values, strict=True))


def _ticker_row(ticker: Any, slot_at: str, source: str) -> dict:
    return {
        "product_id": ticker.product_id,
        "slot_at": slot_at,
        "source": source,
        "trade_id": ticker.trade_id,
        "price": ticker.price,
        "size": ticker.size,
        "bid": ticker.bid,
        "ask": ticker.ask,
        "volume": ticker.volume,
        "rfq_volume": ticker.rfq_volume,
        "conversions_volume": ticker.conversions_volume,
        "_rescued_data": ticker.rescued or None,
        "exchange_time": ticker.time,
        "requested_at": _iso(ticker.requested_at),
        "received_at": _iso(ticker.received_at),
    }


def build_batch(slot_at: datetime, results: list[Any], settings: Settings, source: str) -> SlotBatch:
    """Reduce every fetched book at the edge; every failure (fetch or payload) becomes an error row."""
    slot = _iso(slot_at)
    batch = SlotBatch(slot_at=slot, source=source)
    for result in results:
        pid = result.product_id
        if result.book is not None:
            try:
                reduced = reduce_book(
                    result.book.bids,
                    result.book.asks,
                    top_levels=settings.ingest.top_levels,
                    band_pct=Decimal(settings.ingest.profile_band_pct),
                    bucket_bps=settings.ingest.profile_bucket_bps,
                    order_sizes=settings.kpis.slippage_usd,
                )
                batch.books.append(_book_row(result.book, reduced, slot, source, settings))
            except InvalidBook as exc:
                batch.errors.append(error_row(pid, slot, "book", source, exc))
        elif result.book_error is not None:
            batch.errors.append(error_row(pid, slot, "book", source, result.book_error))
        if result.ticker is not None:
            batch.tickers.append(_ticker_row(result.ticker, slot, source))
        elif result.ticker_error is not None:
            batch.errors.append(error_row(pid, slot, "ticker", source, result.ticker_error))
    return batch


def _gap_row(pid: str, slot: str, endpoint: str, source: str, kind: str, reason: str) -> dict:
    return {
        "product_id": pid,
        "slot_at": slot,
        "endpoint": endpoint,
        "source": source,
        "error_kind": kind,
        "reason": reason,
        "http_status": None,
        "attempts": 0,
        "body_excerpt": None,
    }


def missed_slot_batch(slot_at: datetime, product_ids: tuple[str, ...], source: str, reason: str) -> SlotBatch:
    """A slot that was never fetched (the task was late): recorded as a gap per product and endpoint."""
    slot = _iso(slot_at)
    batch = SlotBatch(slot_at=slot, source=source)
    batch.errors = [
        _gap_row(pid, slot, ep, source, "missed_slot", reason) for pid in product_ids for ep in ("book", "ticker")
    ]
    return batch


def quarantined_batch(batch: SlotBatch, reason: str) -> SlotBatch:
    """The error rows that stand for a batch the database rejected: one per (product, endpoint) it held."""
    keys = {(r["product_id"], "book") for r in batch.books} | {(r["product_id"], "ticker") for r in batch.tickers}
    keys |= {(r["product_id"], r["endpoint"]) for r in batch.errors}
    return SlotBatch(
        slot_at=batch.slot_at,
        source=batch.source,
        errors=[
            _gap_row(pid, batch.slot_at, ep, batch.source, "quarantined", reason[:BODY_EXCERPT_CHARS])
            for pid, ep in sorted(keys)
            if ep in ("book", "ticker")
        ],
    )

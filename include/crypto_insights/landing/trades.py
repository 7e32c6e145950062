"""The trade tape: each slot lands every print newer than the last one landed, and closes older gaps by paging back.

Unlike a book snapshot, a print missed now can be fetched later: trade ids have no gaps, so the newest landed id
says exactly what is missing. Each slot, per product:

1. the newest page (`limit` prints); the prints newer than the last landed id are landed;
2. when that page does not reach the last landed id, the range between is a *gap* (raw.coinbase_trade_gaps);
3. what is left of the slot's page budget pages back into the open gaps (`after=<id>`), newest gap first;
4. a gap the exchange no longer serves (an empty page), or older than `ingest.trades_backfill_hours`, is recorded
   as a trade-id range in raw.coinbase_ingest_errors (`trades_gap_unrecoverable`) and closed, never invented.

Nothing is spooled: while the warehouse is down the last landed id does not move, so the prints are fetched again.
See docs/architecture.md#trades.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crypto_insights.coinbase.client import CoinbaseClient
from crypto_insights.coinbase.errors import CoinbaseError
from crypto_insights.coinbase.trades import MAX_LIMIT, TradesPage
from crypto_insights.config import Settings
from crypto_insights.landing.batch import error_row
from crypto_insights.landing.slots import source_label

log = logging.getLogger(__name__)

TRADE_COLUMNS = (
    "product_id",
    "trade_id",
    "source",
    "side",
    "price",
    "size",
    "_rescued_data",
    "exchange_time",
    "traded_at",
    "slot_at",
    "received_at",
)


@dataclass
class Gap:
    product_id: str
    after_id: int  # exclusive upper bound: page with after=<after_id>
    down_to_id: int  # exclusive lower bound: the newest id landed below


@dataclass
class TradeBatch:
    """What one product's slot changes: prints to land, gaps opened, moved or closed, errors to record."""

    product_id: str
    trades: list[dict[str, Any]] = field(default_factory=list)
    open_gaps: list[Gap] = field(default_factory=list)  # gaps as they stand after this slot (new or moved)
    closed_gaps: list[int] = field(default_factory=list)  # after_ids no longer open (closed, or moved away)
    errors: list[dict[str, Any]] = field(default_factory=list)
    pages: int = 0

    def gaps_to_keep(self) -> list[Gap]:
        closed = set(self.closed_gaps)
        return [g for g in self.open_gaps if g.after_id not in closed]


@dataclass
class TradesReport:
    trades: int = 0
    pages: int = 0
    gaps_open: int = 0
    errors: int = 0
    failures: list[str] = field(default_factory=list)


def page_rows(page: TradesPage, slot: str, source: str, newer_than: int | None, older_than: int | None = None) -> list:
    """The page's prints in (newer_than, older_than), each id once (a page may repeat a print)."""
    rows, seen = [], set()
    for t in page.trades:
        if newer_than is not None and t.trade_id <= newer_than:
            continue
        if older_than is not None and t.trade_id >= older_than:
            continue
        if t.trade_id in seen:
            continue
        seen.add(t.trade_id)
        rows.append(
            {
                "product_id": page.product_id,
                "trade_id": t.trade_id,
                "source": source,
                "side": t.side,
                "price": t.price,
                "size": t.size,
                "_rescued_data": t.rescued or None,
                "exchange_time": t.time,
                "traded_at": t.traded_at.isoformat(),
                "slot_at": slot,
                "received_at": (page.received_at or datetime.now(UTC)).isoformat(),
            }
        )
    return rows


def _skipped(rows: list[dict], lowest: int, highest: int) -> list[tuple[int, int]]:
    """The runs of ids in [lowest, highest] that `rows` lack: prints a page's span should hold but does not."""
    have = sorted(r["trade_id"] for r in rows if lowest <= r["trade_id"] <= highest)
    runs, expect = [], lowest
    for trade_id in [*have, highest + 1]:
        if trade_id > expect:
            runs.append((expect, trade_id - 1))
        expect = trade_id + 1
    return runs


class TradeTape:
    """Plans each product's trade landing for a slot; `write` (the warehouse side) is given by the caller."""

    def __init__(self, settings: Settings, client: CoinbaseClient) -> None:
        self.settings, self.client = settings, client
        self.source = source_label(settings.exchange.api_url)
        # Prints new at each product's last slot: the next slot's newest page asks for a few times that, not always
        # 1000. A page too short to reach the last landed id only opens a gap, which the backfill closes, so a burst
        # costs a page of the budget, never a print.
        self.new_prints: dict[str, int] = {}

    def fetch(self, slot_at: datetime, state: dict[str, tuple[int | None, list[Gap]]], deadline: float) -> list:
        """One TradeBatch per product, fetched concurrently; `state`: product -> (last landed id, open gaps)."""
        products = self.settings.product_ids
        budgets = _page_budgets(products, self.settings.ingest.trades_backfill_pages_per_slot)
        with ThreadPoolExecutor(max_workers=min(8, len(products)), thread_name_prefix="coinbase-trades") as pool:
            futures = [
                pool.submit(self._product, pid, slot_at, *state.get(pid, (None, [])), budgets[pid], deadline)
                for pid in products
            ]
            return [f.result() for f in futures]

    def _product(
        self, pid: str, slot_at: datetime, last: int | None, gaps: list[Gap], backfill_pages: int, deadline: float
    ) -> TradeBatch:
        slot = slot_at.isoformat()
        batch = TradeBatch(pid)
        try:
            page = self.client.get_trades(pid, limit=_newest_page_limit(self.new_prints.get(pid)), deadline=deadline)
        except CoinbaseError as exc:
            batch.errors.append(error_row(pid, slot, "trades", self.source, exc))
            return batch
        batch.pages += 1
        newest = page_rows(page, slot, self.source, last)
        batch.trades += newest
        self.new_prints[pid] = len(newest)
        if newest:  # ids are gap-free: one missing inside the page is given up (recorded), never invented
            lowest = page.oldest_id if last is None else max(page.oldest_id, last + 1)
            self._give_up(batch, slot, _skipped(newest, lowest, page.newest_id), "the exchange's page skipped them")
        if last is not None and page.oldest_id is not None and page.oldest_id > last + 1:
            gaps = [Gap(pid, page.oldest_id, last), *gaps]  # the prints between were made while we were away
            batch.open_gaps.append(gaps[0])
        horizon = datetime.now(UTC) - timedelta(hours=self.settings.ingest.trades_backfill_hours)
        for gap in gaps:
            while backfill_pages > 0 and time.monotonic() < deadline:
                backfill_pages -= 1
                try:
                    older = self.client.get_trades(pid, after=gap.after_id, deadline=deadline)
                except CoinbaseError as exc:
                    batch.errors.append(error_row(pid, slot, "trades", self.source, exc))
                    return batch
                batch.pages += 1
                filled = page_rows(older, slot, self.source, gap.down_to_id, gap.after_id)
                batch.trades += filled
                reached = older.oldest_id is not None and older.oldest_id <= gap.down_to_id + 1
                if older.trades:  # the part of the gap this page spans must be whole
                    lowest = max(older.oldest_id, gap.down_to_id + 1)
                    self._give_up(
                        batch, slot, _skipped(filled, lowest, gap.after_id - 1), "the exchange's page skipped them"
                    )
                too_old = bool(older.trades) and min(t.traded_at for t in older.trades) < horizon
                if reached or not older.trades or too_old:
                    self._close(batch, gap, slot, None if reached else older, too_old)
                    break
                batch.closed_gaps.append(gap.after_id)
                gap.after_id = older.oldest_id
                batch.open_gaps.append(Gap(pid, gap.after_id, gap.down_to_id))
        return batch

    def _close(self, batch: TradeBatch, gap: Gap, slot: str, last_page: TradesPage | None, too_old: bool) -> None:
        batch.closed_gaps.append(gap.after_id)
        batch.open_gaps = [g for g in batch.open_gaps if g.after_id != gap.after_id]
        if last_page is None:
            return
        newest_missing = (last_page.oldest_id or gap.after_id) - 1
        why = (
            f"older than the {self.settings.ingest.trades_backfill_hours} h backfill horizon"
            if too_old
            else "the exchange serves no print older than this"
        )
        self._give_up(batch, slot, [(gap.down_to_id + 1, newest_missing)], why)

    def _give_up(self, batch: TradeBatch, slot: str, runs: list[tuple[int, int]], why: str) -> None:
        """Record each run of print ids as a range not landed (one error row each: raw.coinbase_ingest_errors)."""
        for first, last in runs:
            if first > last:
                continue
            batch.errors.append(
                {
                    "product_id": batch.product_id,
                    "slot_at": slot,
                    "endpoint": "trades",
                    "source": self.source,
                    "error_kind": "trades_gap_unrecoverable",
                    "reason": f"prints {first}..{last} not landed: {why}",
                    "http_status": None,
                    "attempts": None,
                    "body_excerpt": None,
                    "first_trade_id": first,
                    "last_trade_id": last,
                }
            )


MIN_NEWEST_PAGE = 100


def _newest_page_limit(new_last_slot: int | None) -> int:
    """The `limit` of a slot's newest page: 4x the prints new at the last slot, at least 100; 1000 when unknown."""
    if new_last_slot is None:
        return MAX_LIMIT
    return min(MAX_LIMIT, max(MIN_NEWEST_PAGE, 4 * new_last_slot))


def _page_budgets(products: tuple[str, ...], pages_per_slot: int) -> dict[str, int]:
    """The slot's backfill pages shared out over the products (the first ones get the remainder)."""
    share, extra = divmod(pages_per_slot, len(products))
    return {pid: share + (1 if i < extra else 0) for i, pid in enumerate(products)}

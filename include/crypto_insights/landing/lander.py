"""Fetch one slot, reduce it at the edge and land it; the one code path for the trigger and the CLI."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import psycopg2

from crypto_insights.coinbase.client import CoinbaseClient
from crypto_insights.coinbase.fetch import fetch_slot
from crypto_insights.config import Settings
from crypto_insights.landing.batch import SlotBatch, build_batch, quarantined_batch
from crypto_insights.landing.copy_writer import CopyWriter
from crypto_insights.landing.slots import source_label
from crypto_insights.landing.spool import Spool

log = logging.getLogger(__name__)
T = TypeVar("T")
DATABASE_DOWN = (psycopg2.OperationalError, psycopg2.InterfaceError)


@dataclass
class LandingReport:
    slot_at: str
    books: int = 0
    tickers: int = 0
    errors: int = 0
    duplicates: int = 0
    superseded: int = 0  # error rows of earlier attempts replaced by what landed now
    spooled: bool = False
    replayed: int = 0  # spooled batches of earlier slots landed now
    quarantined: int = 0  # batches the database rejected, moved aside and recorded as `quarantined`
    trades: int = 0  # prints landed (new ones: the tape is landed once by trade id)
    trade_pages: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


class Lander:
    """Lands batches; a batch the database cannot take now is spooled, one it rejects is quarantined.

    Neither ever blocks a later slot: the spool is drained before each fresh batch, and a spooled batch that the
    database refuses is moved aside (with its reason) and recorded as `quarantined` error rows instead.
    Slots of a window land from several threads; the one connection serialises them.
    """

    def __init__(self, writer: CopyWriter, spool: Spool) -> None:
        self.writer, self.spool = writer, spool
        self._lock = threading.Lock()

    def with_writer(self, work: Callable[[CopyWriter], T]) -> T:
        """Run `work` on the writer while no slot lands (the writer's one connection is not shared)."""
        with self._lock:
            return work(self.writer)

    def drain(self) -> tuple[int, int]:
        """Land what the spool holds; returns (landed, quarantined). Raises while the database is down."""
        with self._lock:
            return self._drain_spool()

    def _drain_spool(self) -> tuple[int, int]:
        landed = quarantined = 0
        for path in self.spool.pending():
            try:
                batch = Spool.load(path)
            except (OSError, ValueError, TypeError) as exc:
                self.spool.quarantine(path, f"unreadable spool file: {type(exc).__name__}: {exc}")
                log.error("quarantined unreadable spool file %s: %s", path.name, exc)
                quarantined += 1
                continue
            try:
                self.writer.write(batch)
            except DATABASE_DOWN:
                raise
            except psycopg2.Error as exc:
                self._quarantine(batch, exc, path)
                quarantined += 1
                continue
            path.unlink()
            landed += 1
        return landed, quarantined

    def land(self, batch: SlotBatch) -> LandingReport:
        report = LandingReport(slot_at=batch.slot_at)
        report.failures = [f"{e['product_id']} {e['endpoint']}: {e['error_kind']}: {e['reason']}" for e in batch.errors]
        with self._lock:
            try:
                report.replayed, report.quarantined = self._drain_spool()
                counts = self.writer.write(batch)
            except DATABASE_DOWN as exc:
                path = self.spool.save(batch)
                report.spooled = True
                log.warning(
                    "database unavailable (%s): slot %s kept in %s, landed on a later call",
                    str(exc).strip(),
                    batch.slot_at,
                    path,
                )
                return report
            except psycopg2.Error as exc:
                self._quarantine(batch, exc, self.spool.save(batch))
                report.quarantined += 1
                return report
        report.books, report.tickers, report.errors = counts.books, counts.tickers, counts.errors
        report.duplicates, report.superseded = counts.duplicates, counts.superseded
        return report

    def _quarantine(self, batch: SlotBatch, exc: psycopg2.Error, path: Path) -> None:
        """Move a rejected batch aside and record its slot as `quarantined`, so it is accounted, not retried."""
        reason = f"the warehouse rejected the batch ({type(exc).__name__}: {str(exc).strip()}); kept in {path.name}"
        moved = self.spool.quarantine(path, reason)
        log.error("slot %s quarantined in %s: %s", batch.slot_at, moved, reason)
        try:
            self.writer.write(quarantined_batch(batch, reason))
        except psycopg2.Error as record_exc:  # the gap sweep records the slot as missed instead
            log.error("could not record quarantined slot %s: %s", batch.slot_at, record_exc)


def land_slot(
    slot_at: datetime, *, settings: Settings, client: CoinbaseClient, lander: Lander, deadline: float | None = None
) -> LandingReport:
    """Fetch book + ticker of every configured product for `slot_at` in parallel, then land them.

    ``deadline`` (``time.monotonic()``) ends every request of the slot; what did not finish is an error row.
    """
    results = fetch_slot(client, settings.product_ids, deadline=deadline)
    batch = build_batch(slot_at, results, settings, source_label(settings.exchange.api_url))
    report = lander.land(batch)
    log.info(
        "slot %s: %d books, %d tickers landed, %d errors recorded, %d duplicates%s",
        report.slot_at,
        report.books,
        report.tickers,
        report.errors,
        report.duplicates,
        " (spooled: database down)" if report.spooled else "",
    )
    for failure in report.failures:
        log.warning("slot %s: %s", report.slot_at, failure)
    return report


def spool_dir(home: Path) -> Path:
    return home / "spool"

"""Fetch one slot, reduce it at the edge and land it; the one code path for the trigger and the CLI."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg2

from crypto_insights.coinbase.client import CoinbaseClient
from crypto_insights.coinbase.fetch import fetch_slot
from crypto_insights.config import Settings
from crypto_insights.landing.batch import SlotBatch, build_batch
from crypto_insights.landing.copy_writer import CopyWriter
from crypto_insights.landing.slots import source_label
from crypto_insights.landing.spool import Spool

log = logging.getLogger(__name__)
DATABASE_DOWN = (psycopg2.OperationalError, psycopg2.InterfaceError)


@dataclass
class LandingReport:
    slot_at: str
    books: int = 0
    tickers: int = 0
    errors: int = 0
    duplicates: int = 0
    spooled: bool = False
    replayed: int = 0  # spooled batches of earlier slots landed now
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


class Lander:
    """Lands batches; when the database is down the batch goes to the spool and is landed on a later call."""

    def __init__(self, writer: CopyWriter, spool: Spool) -> None:
        self.writer, self.spool = writer, spool

    def drain_spool(self) -> int:
        landed = 0
        for path in self.spool.pending():
            self.writer.write(Spool.load(path))  # raises while the database is still down
            path.unlink()
            landed += 1
        return landed

    def land(self, batch: SlotBatch) -> LandingReport:
        report = LandingReport(slot_at=batch.slot_at)
        report.failures = [f"{e['product_id']} {e['endpoint']}: {e['error_kind']}: {e['reason']}" for e in batch.errors]
        try:
            report.replayed = self.drain_spool()
            counts = self.writer.write(batch)
        except DATABASE_DOWN as exc:
            path = self.spool.save(batch)
            report.spooled = True
            log.warning("database unavailable (%s): slot %s kept in %s, landed on a later call",
                        str(exc).strip(), batch.slot_at, path)
            return report
        report.books, report.tickers, report.errors, report.duplicates = (
            counts.books, counts.tickers, counts.errors, counts.duplicates
        )
        return report


def land_slot(slot_at: datetime, *, settings: Settings, client: CoinbaseClient, lander: Lander) -> LandingReport:
    """Fetch book + ticker of every configured product for `slot_at` in parallel, then land them."""
    results = fetch_slot(client, settings.product_ids)
    batch = build_batch(slot_at, results, settings, source_label(settings.exchange.api_url))
    report = lander.land(batch)
    log.info("slot %s: %d books, %d tickers landed, %d errors recorded, %d duplicates%s",
             report.slot_at, report.books, report.tickers, report.errors, report.duplicates,
             " (spooled: database down)" if report.spooled else "")
    for failure in report.failures:
        log.warning("slot %s: %s", report.slot_at, failure)
    return report


def spool_dir(home: Path) -> Path:
    return home / "spool"

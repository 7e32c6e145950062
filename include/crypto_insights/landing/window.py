"""Everything one landing process holds across the slots of a window: settings, client, writer and spool."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg2

from crypto_insights.coinbase.client import CoinbaseClient
from crypto_insights.config import Settings, load_settings
from crypto_insights.landing.accounting import account_gaps
from crypto_insights.landing.batch import missed_slot_batch
from crypto_insights.landing.copy_writer import CopyWriter
from crypto_insights.landing.lander import DATABASE_DOWN, Lander, LandingReport, land_slot, spool_dir
from crypto_insights.landing.migrations import migrate
from crypto_insights.landing.slots import source_label
from crypto_insights.landing.spool import Spool
from crypto_insights.landing.trades import TradeTape
from crypto_insights.paths import local_dir

log = logging.getLogger(__name__)


class WindowLander:
    def __init__(self, settings: Settings, connect: Callable[[], Any], spool: Spool) -> None:
        self.settings = settings
        self.connect = connect
        self.client = CoinbaseClient(settings.exchange)
        self.writer = CopyWriter(connect)
        self.lander = Lander(self.writer, spool)
        self.tape = TradeTape(settings, self.client)

    @classmethod
    def from_connect_kwargs(cls, kwargs: dict[str, Any], config_path: str | None = None) -> WindowLander:
        """Spooled slots wait per warehouse database, so they can only ever land where they were headed."""
        spool = Spool(spool_dir(local_dir()) / str(kwargs["dbname"]))
        return cls(load_settings(config_path), lambda: psycopg2.connect(**kwargs), spool)

    @classmethod
    def from_airflow_conn(cls, conn: Any, config_path: str | None = None) -> WindowLander:
        from crypto_insights.airflow.hooks import connect_kwargs

        return cls.from_connect_kwargs(connect_kwargs(conn), config_path)

    def migrate(self) -> list[str]:
        conn = self.connect()
        try:
            return migrate(conn)
        finally:
            conn.close()

    def land(self, slot_at: datetime, now: datetime | None = None) -> LandingReport:
        """Land `slot_at` by its deadline (`ingest.slot_deadline_s` after the slot).

        A slot whose deadline has passed is recorded as `missed_slot`, not fetched: a book fetched later is not the
        slot's book. Its error rows are not written where the slot is landed already (a restarted window).
        """
        now = now or datetime.now(UTC)
        late_s = (now - slot_at).total_seconds()
        left_s = self.settings.ingest.slot_deadline_s - late_s
        if left_s <= 0:
            batch = missed_slot_batch(
                slot_at,
                self.settings.product_ids,
                source_label(self.settings.exchange.api_url),
                f"slot not fetched: landing reached it {late_s:.1f}s late, past its "
                f"{self.settings.ingest.slot_deadline_s:g}s deadline",
            )
            return self.lander.land(batch)
        deadline = time.monotonic() + left_s
        # the trade pages are fetched beside the books and tickers, so a slow book never costs the slot's trades
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="coinbase-tape") as pool:
            trades = pool.submit(self._fetch_trades, slot_at, deadline)
            report = land_slot(
                slot_at, settings=self.settings, client=self.client, lander=self.lander, deadline=deadline
            )
            if report.books and not report.spooled:
                # the transform may start on the books now: it takes ~1 s to start, by when the slot's prints are
                # landed too, and a print that is later still is taken in by the next micro-batch
                self._announce(slot_at)
            batches = trades.result()
        self._land_trades(slot_at, batches, report)
        return report

    def _announce(self, slot_at: datetime) -> None:
        """NOTIFY the slot's landing (its books and tickers committed): the transform starts on it. Best effort:
        a lost notice costs freshness, not data (the next slot's notice, or the window's asset event, covers it)."""
        try:
            self.lander.with_writer(lambda w: w.notify_landed(slot_at.isoformat()))
        except DATABASE_DOWN as exc:
            log.warning("slot %s: landing not announced (%s)", slot_at.isoformat(), str(exc).strip())

    def _fetch_trades(self, slot_at: datetime, deadline: float) -> list | None:
        """The slot's trade pages within its deadline; None while the warehouse cannot say what is landed."""
        products = self.settings.product_ids
        try:
            state = self.lander.with_writer(lambda w: w.trade_state(products))
        except DATABASE_DOWN as exc:
            log.warning(
                "slot %s: trades not fetched, the warehouse is unavailable (%s); a later slot fetches them",
                slot_at.isoformat(),
                str(exc).strip(),
            )
            return None
        return self.tape.fetch(slot_at, state, deadline)

    def _land_trades(self, slot_at: datetime, batches: list | None, report: LandingReport) -> None:
        """Land the slot's prints. While the warehouse is down nothing is kept: the last landed trade id does not
        move, so a later slot fetches the same prints again (or pages back to them).
        """
        if batches is None:
            return
        try:
            report.trades = self.lander.with_writer(lambda w: w.write_trades(batches))
        except DATABASE_DOWN as exc:
            log.warning(
                "slot %s: trades not landed, the warehouse is unavailable (%s); a later slot fetches them",
                slot_at.isoformat(),
                str(exc).strip(),
            )
            return
        report.trade_pages = sum(b.pages for b in batches)
        report.errors += sum(len(b.errors) for b in batches)
        report.failures += [
            f"{e['product_id']} trades: {e['error_kind']}: {e['reason']}" for b in batches for e in b.errors
        ]

    def account_gaps(self, through: datetime) -> int:
        """Land what the spool holds, then record the slots up to `through` that no window reached.

        Draining first means a slot waiting in the spool is landed, not called missed. Raises while the database
        is down (the next window sweeps the same range).
        """
        self.lander.drain()
        conn = self.connect()
        try:
            return account_gaps(conn, self.settings, through)
        finally:
            conn.close()

    def close(self) -> None:
        self.writer.close()
        self.client.close()

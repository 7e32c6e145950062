"""The triggers of the pipeline, both run by Airflow's triggerer.

`CoinbaseSnapshotTrigger` (a deferred task's trigger) waits for each 10 s slot of a window, then lands it.
`LandedSlotTrigger` (an event trigger, watched by the `raw_coinbase_landed_slots` asset) fires once per landed slot,
so the transform starts on each slot instead of each window (docs/architecture.md#orchestration).


The trigger does the fetch and the landing itself (through `asyncio.to_thread`, never blocking the loop) so that
megabyte-sized books never travel through trigger events or XCom; landing is idempotent on
(product_id, slot_at), so a trigger that the triggerer restarts re-lands nothing twice.

Each slot starts on its own boundary whatever the slot before it is doing, and ends by its deadline
(`ingest.slot_deadline_s`): a slow or throttled request costs its own slot at most. Before the first slot the
gap sweep records the slots no window reached since the last one (docs/architecture.md#ingest-accounting).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent


class CoinbaseSnapshotTrigger(BaseTrigger):
    """Land `slot_count` consecutive slots starting at `first_slot` (ISO-8601, UTC).

    :param first_slot: the first slot boundary of the window.
    :param slot_count: how many slots the window holds.
    :param warehouse_conn_id: the Airflow connection of the warehouse (role crypto_loader).
    :param config_path: the symbols config; None for the default / $CRYPTO_INSIGHTS_CONFIG.
    """

    def __init__(
        self, *, first_slot: str, slot_count: int, warehouse_conn_id: str, config_path: str | None = None
    ) -> None:
        super().__init__()
        self.first_slot = first_slot
        self.slot_count = slot_count
        self.warehouse_conn_id = warehouse_conn_id
        self.config_path = config_path

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "first_slot": self.first_slot,
                "slot_count": self.slot_count,
                "warehouse_conn_id": self.warehouse_conn_id,
                "config_path": self.config_path,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from crypto_insights.landing.window import WindowLander

        try:
            lander = await asyncio.to_thread(WindowLander.from_airflow_conn, await self._connection(), self.config_path)
        except Exception as exc:  # reported to the operator, which fails the task with this message
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}", "reports": []})
            return
        try:
            first = datetime.fromisoformat(self.first_slot)
            step = timedelta(seconds=lander.settings.ingest.slot_seconds)
            await self._account_gaps(lander, first - step)
            landing: list[asyncio.Task] = []
            for slot_at in (first + step * i for i in range(self.slot_count)):
                wait = (slot_at - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
                landing.append(asyncio.create_task(asyncio.to_thread(lander.land, slot_at)))
            outcomes = await asyncio.gather(*landing, return_exceptions=True)
            reports = [o.as_dict() for o in outcomes if not isinstance(o, BaseException)]
            problems = [f"{type(o).__name__}: {o}" for o in outcomes if isinstance(o, BaseException)]
            if problems:
                yield TriggerEvent({"status": "error", "message": "; ".join(problems), "reports": reports})
            else:
                yield TriggerEvent({"status": "success", "reports": reports})
        finally:
            await asyncio.to_thread(lander.close)

    async def _account_gaps(self, lander: Any, through: datetime) -> None:
        """Sweep the gap before this window; while the database is down the next window sweeps the same range."""
        import psycopg2

        try:
            await asyncio.to_thread(lander.account_gaps, through)
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
            self.log.warning("gap sweep postponed, the warehouse is unavailable: %s", str(exc).strip())

    async def _connection(self) -> Any:
        from airflow.providers.common.compat.connection import get_async_connection

        return await get_async_connection(self.warehouse_conn_id)


# The newest landed slot, one index probe per product (the primary key (product_id, slot_at) of each partition);
# the products are those the gap sweep keeps a watermark for.
_NEWEST_SLOT = """
select max((select max(b.slot_at) from raw.coinbase_book_snapshots as b where b.product_id = w.product_id))
from raw.coinbase_ingest_watermarks as w
"""


class LandedSlotTrigger(BaseEventTrigger):
    """Fire one event per landed slot (payload ``{"slot_at": ...}``), newest first and never twice.

    The landing NOTIFYs ``SLOT_LANDED_CHANNEL`` once a slot's books, tickers and prints are committed; this trigger
    LISTENs on a connection of its own, waiting in a thread (`select`, at most `wait_s` per turn so cancellation is
    prompt). Slots announced while one is being handed over are coalesced into the newest: the transform takes in
    everything landed since its last run anyway. When the connection drops (the warehouse restarted), it reconnects
    with backoff and, if a slot newer than the last announced one landed meanwhile, fires for it: a notice lost in the
    outage costs no run.

    :param warehouse_conn_id: the Airflow connection of the warehouse (role crypto_loader, which may LISTEN).
    :param wait_s: the longest wait for a notice before checking for cancellation.
    """

    def __init__(self, *, warehouse_conn_id: str, wait_s: float = 1.0) -> None:
        super().__init__()
        self.warehouse_conn_id = warehouse_conn_id
        self.wait_s = wait_s

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"warehouse_conn_id": self.warehouse_conn_id, "wait_s": self.wait_s},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        import psycopg2

        announced: datetime | None = None
        backoff = 1.0
        while True:
            try:
                conn, newest = await asyncio.to_thread(self._listen, await self._connect_kwargs())
            except (psycopg2.Error, OSError) as exc:
                self.log.warning("cannot listen for landed slots (retrying in %.0f s): %s", backoff, str(exc).strip())
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            try:
                if newest is not None and announced is not None and newest > announced:
                    announced = newest  # landed while we were not listening
                    yield TriggerEvent({"slot_at": announced.isoformat()})
                elif announced is None:
                    announced = newest  # on start: only what lands from now on
                while True:
                    slots = await asyncio.to_thread(self._wait, conn)
                    newer = [slot for slot in slots if announced is None or slot > announced]
                    if newer:
                        announced = max(newer)
                        yield TriggerEvent({"slot_at": announced.isoformat()})
            except (psycopg2.Error, OSError) as exc:
                self.log.warning("lost the warehouse connection, listening again: %s", str(exc).strip())
            finally:
                await asyncio.to_thread(conn.close)

    def _listen(self, kwargs: dict[str, Any]) -> tuple[Any, datetime | None]:
        """A connection LISTENing on the channel, and the newest slot landed when it started."""
        import psycopg2

        from crypto_insights.landing.copy_writer import SLOT_LANDED_CHANNEL

        conn = psycopg2.connect(**kwargs)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f"listen {SLOT_LANDED_CHANNEL}")
                cur.execute(_NEWEST_SLOT)
                newest = cur.fetchone()[0]
        except BaseException:
            conn.close()
            raise
        return conn, newest

    def _wait(self, conn: Any) -> list[datetime]:
        """The slots announced within `wait_s` (a payload that is not a timestamp is ignored)."""
        import select

        if not conn.notifies:
            ready, _, _ = select.select([conn], [], [], self.wait_s)
            if ready:
                conn.poll()
        slots = []
        for notice in conn.notifies:
            try:
                slots.append(datetime.fromisoformat(notice.payload))
            except ValueError:
                self.log.warning("ignored a notice that names no slot: %r", notice.payload[:100])
        conn.notifies.clear()
        return slots

    async def _connect_kwargs(self) -> dict[str, Any]:
        from airflow.providers.common.compat.connection import get_async_connection

        from crypto_insights.airflow.hooks import connect_kwargs

        return {
            **connect_kwargs(await get_async_connection(self.warehouse_conn_id)),
            "application_name": "crypto-insights-slot-watcher",
        }

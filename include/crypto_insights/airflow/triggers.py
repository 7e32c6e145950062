"""`CoinbaseSnapshotTrigger`: waits for each 10 s slot of a window in the triggerer, then lands it.

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

from airflow.triggers.base import BaseTrigger, TriggerEvent


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
            lander = await asyncio.to_thread(WindowLander.from_airflow_conn, await self._connection(),
                                             self.config_path)  # fmt: skip
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

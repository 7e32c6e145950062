"""`CoinbaseLandWindowOperator`: lands one window of 10 s slots, deferring so no worker slot waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from crypto_insights.airflow.assets import WAREHOUSE_CONN_ID
from crypto_insights.airflow.triggers import CoinbaseSnapshotTrigger


class CoinbaseLandWindowOperator(BaseOperator):
    """Land the next window of slots for every configured product into the raw schema.

    :param warehouse_conn_id: Airflow connection of the warehouse (role crypto_loader).
    :param first_slot: ISO-8601 first slot of the window (templated); default: the next slot boundary.
    :param slot_count: slots per window; default: window_seconds / slot_seconds from the config.
    :param config_path: the symbols config; default: $CRYPTO_INSIGHTS_CONFIG or the project's file.
    """

    template_fields = ("first_slot", "config_path")
    ui_color = "#f5c542"

    def __init__(
        self,
        *,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        first_slot: str | None = None,
        slot_count: int | None = None,
        config_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id
        self.first_slot = first_slot
        self.slot_count = slot_count
        self.config_path = config_path

    def execute(self, context: Any) -> None:
        from crypto_insights.airflow.hooks import warehouse_connection
        from crypto_insights.config import load_settings
        from crypto_insights.landing.migrations import ensure_migrated
        from crypto_insights.landing.slots import next_slot

        settings = load_settings(self.config_path)
        with warehouse_connection(self.warehouse_conn_id) as conn:
            ensure_migrated(conn)  # a read of the applied versions; the migrations run at start-up and daily
        slot_seconds = settings.ingest.slot_seconds
        first = datetime.fromisoformat(self.first_slot) if self.first_slot else None
        first = first or next_slot(datetime.now(UTC), slot_seconds)
        count = self.slot_count or settings.ingest.slots_per_window
        self.log.info("landing %d slots from %s for %s", count, first.isoformat(), ", ".join(settings.product_ids))
        self.defer(
            trigger=CoinbaseSnapshotTrigger(
                first_slot=first.isoformat(),
                slot_count=count,
                warehouse_conn_id=self.warehouse_conn_id,
                config_path=self.config_path,
            ),
            method_name="execute_complete",
            # the window itself, plus the worst case of retries on the last slot
            timeout=timedelta(seconds=(first - datetime.now(UTC)).total_seconds() + count * slot_seconds + 300),
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        reports = event.get("reports", [])
        if event.get("status") != "success":
            raise AirflowException(f"landing failed after {len(reports)} slot(s): {event.get('message')}")
        counted = ("books", "tickers", "trades", "errors", "duplicates", "superseded", "replayed", "quarantined")
        totals = {k: sum(r.get(k, 0) for r in reports) for k in counted}
        spooled = [r["slot_at"] for r in reports if r["spooled"]]
        for r in reports:
            for failure in r["failures"]:
                self.log.warning("%s %s", r["slot_at"], failure)
        self.log.info("window landed: %s", totals)
        if totals["quarantined"]:
            self.log.error(
                "%d batch(es) rejected by the warehouse were quarantined and recorded as `quarantined` "
                "(see the spool's quarantine folder)",
                totals["quarantined"],
            )
        if spooled:
            raise AirflowException(
                f"the warehouse was unreachable: slots {', '.join(spooled)} are kept in the spool and land "
                "on the next successful run"
            )
        return {"slots": [r["slot_at"] for r in reports], **totals}

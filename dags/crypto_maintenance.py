"""
### Crypto maintenance

Daily housekeeping of the raw layer: apply pending raw-schema migrations, create the next days' partitions ahead
of the ingest, and drop the partitions older than the retention period (`ingest.retention_days` in the config).
"""

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

from crypto_insights.airflow.assets import WAREHOUSE_CONN_ID

PARTITION_DAYS_AHEAD = 3


def _day(data_interval_end: datetime | None):
    """The run's day: the end of its data interval, or today for a manual run without one."""
    return (data_interval_end or datetime.now(UTC)).date()


@dag(
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True},
    tags=["maintenance", "raw"],
    doc_md=__doc__,
)
def crypto_maintenance():
    @task
    def migrate_raw_schema() -> list[str]:
        from crypto_insights.airflow.hooks import WarehouseHook
        from crypto_insights.landing.migrations import migrate

        conn = WarehouseHook(WAREHOUSE_CONN_ID).get_conn()
        try:
            return migrate(conn)
        finally:
            conn.close()

    @task
    def create_future_partitions(data_interval_end=None) -> list[str]:
        from crypto_insights.airflow.hooks import WarehouseHook
        from crypto_insights.landing.partitions import ensure_partitions

        conn = WarehouseHook(WAREHOUSE_CONN_ID).get_conn()
        try:
            with conn:
                return ensure_partitions(conn, _day(data_interval_end), days=PARTITION_DAYS_AHEAD)
        finally:
            conn.close()

    @task
    def drop_expired_partitions(data_interval_end=None) -> list[str]:
        from crypto_insights.airflow.hooks import WarehouseHook
        from crypto_insights.config import load_settings
        from crypto_insights.landing.partitions import drop_expired_partitions as drop

        conn = WarehouseHook(WAREHOUSE_CONN_ID).get_conn()
        try:
            with conn:
                return drop(conn, _day(data_interval_end), load_settings().ingest.retention_days)
        finally:
            conn.close()

    migrate_raw_schema() >> [create_future_partitions(), drop_expired_partitions()]


crypto_maintenance()

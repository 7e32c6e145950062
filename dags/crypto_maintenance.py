"""
### Crypto maintenance

Daily housekeeping: apply pending raw-schema migrations, create the next days' partitions ahead of the ingest,
drop the partitions older than the retention period (`ingest.retention_days` in the config), rebuild the daily
marts over the whole last day (late and spooled slots included), and check the sources' freshness.
"""

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task
from cosmos.operators.local import DbtBuildLocalOperator, DbtSourceLocalOperator

from crypto_insights.airflow.assets import WAREHOUSE_CONN_ID
from crypto_insights.airflow.dbt import dbt_operator_kwargs

PARTITION_DAYS_AHEAD = 3
DAY_LOOKBACK_MINUTES = 24 * 60 + 30


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

    # the daily marts and everything upstream, over the last day: slots landed late or from the spool join in
    daily_marts = DbtBuildLocalOperator(
        task_id="dbt_build_daily", select="+tag:daily", indirect_selection="cautious",
        **dbt_operator_kwargs(DAY_LOOKBACK_MINUTES),
    )
    freshness = DbtSourceLocalOperator(task_id="dbt_source_freshness", **dbt_operator_kwargs())
    migrate_raw_schema() >> [create_future_partitions(), drop_expired_partitions()] >> daily_marts >> freshness


crypto_maintenance()

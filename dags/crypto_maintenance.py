"""
### Crypto maintenance

Daily housekeeping: apply pending raw-schema migrations, create the next days' partitions ahead of the ingest,
drop the partitions older than the retention period (`ingest.retention_days` in the config), rebuild the daily
marts over the whole last day (late and spooled slots included), check the sources' freshness, and regenerate
the dbt docs served in this UI (Browse > dbt Docs (Crypto Insights), Cosmos' docs plugin). Airflow's own
logs (`$AIRFLOW_HOME/logs`: task attempts, scheduler, DAG processor) older than the same retention are pruned. A
failed task is sent as an alert (`crypto_insights.airflow.notifiers`).
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.sdk import dag, task
from cosmos.operators.local import DbtBuildLocalOperator, DbtDocsLocalOperator, DbtSourceLocalOperator

from crypto_insights.airflow.assets import WAREHOUSE_CONN_ID
from crypto_insights.airflow.dbt import DBT_MACROS, dbt_operator_kwargs
from crypto_insights.airflow.notifiers import TaskFailureNotifier
from crypto_insights.transform.dbt_docs import publish_docs
from crypto_insights.transform.dbt_runner import DAILY_SELECTOR

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
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "on_failure_callback": TaskFailureNotifier(),
    },
    tags=["maintenance", "raw"],
    doc_md=__doc__,
    user_defined_macros=DBT_MACROS,
)
def crypto_maintenance():
    @task
    def migrate_raw_schema() -> list[str]:
        from crypto_insights.airflow.hooks import warehouse_connection
        from crypto_insights.landing.migrations import migrate

        with warehouse_connection(WAREHOUSE_CONN_ID) as conn:
            return migrate(conn)

    @task
    def create_future_partitions(data_interval_end=None) -> list[str]:
        from crypto_insights.airflow.hooks import warehouse_connection
        from crypto_insights.landing.partitions import ensure_partitions

        with warehouse_connection(WAREHOUSE_CONN_ID) as conn, conn:
            return ensure_partitions(conn, _day(data_interval_end), days=PARTITION_DAYS_AHEAD)

    @task
    def drop_expired_partitions(data_interval_end=None) -> list[str]:
        from crypto_insights.airflow.hooks import warehouse_connection
        from crypto_insights.config import load_settings
        from crypto_insights.landing.partitions import drop_expired_partitions as drop

        with warehouse_connection(WAREHOUSE_CONN_ID) as conn, conn:
            return drop(conn, _day(data_interval_end), load_settings().ingest.retention_days)

    @task
    def prune_airflow_logs() -> dict[str, int]:
        from airflow.sdk import conf

        from crypto_insights.config import load_settings
        from crypto_insights.monitoring.task_logs import prune_task_logs

        root = Path(conf.get("logging", "base_log_folder"))  # $AIRFLOW_HOME/logs unless configured otherwise
        return prune_task_logs(root, load_settings().ingest.retention_days).as_dict()

    # the daily marts and everything upstream (selectors.yml: daily), over the last day: slots landed late or
    # from the spool join in
    daily_marts = DbtBuildLocalOperator(
        task_id="dbt_build_daily",
        selector=DAILY_SELECTOR,
        **dbt_operator_kwargs(DAY_LOOKBACK_MINUTES),
    )
    freshness = DbtSourceLocalOperator(task_id="dbt_source_freshness", **dbt_operator_kwargs())
    # the dbt docs Cosmos' plugin serves in this UI (Browse > dbt Docs), with the day's catalog
    docs = DbtDocsLocalOperator(task_id="dbt_docs_generate", callback=publish_docs, **dbt_operator_kwargs(cache="docs"))
    migrate_raw_schema() >> [create_future_partitions(), drop_expired_partitions()] >> daily_marts >> freshness
    daily_marts >> docs
    prune_airflow_logs()


crypto_maintenance()

"""
### Crypto monitor

Tells someone when data stops, every minute. Each check alerts **once** when its condition starts and sends one
"resolved" message when it clears (incidents in `raw.pipeline_alerts`, `include/crypto_insights/monitoring/`):

- `check_ingest_freshness`: no order book landed in `raw.coinbase_book_snapshots` for `alerts.stale_after_s`;
- `check_drop_rate`: the data-quality drop rules rejected more than `alerts.max_drop_rate` of an entity's rows
  (levels, buckets, snapshots, tickers) over the last 15 minutes (dbt's `staging.stg_coinbase__rejected_rows`,
  each slot counted once into `raw.pipeline_drop_counts`);
- `check_transform_recovered`: a `crypto_transform` failure (sent by its failure notifier) is resolved once the
  `crypto_marts` asset is updated again;
- `check_data_tests_recovered`: a `crypto_data_tests` failure is resolved once the tests pass again (the
  `crypto_marts_tested` asset).

Alerts go through `crypto_insights.airflow.notifiers`: the task log and `.local/alerts.log` always, the webhook
`alerts.webhook_url` ($CRYPTO_INSIGHTS_ALERT_WEBHOOK) and e-mail `alerts.email_to` (connection `smtp_default`) when
set. `sweep_ingest_gaps` records the slots no landing task reached as `missed_slot` error rows.
"""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

from crypto_insights.airflow.assets import MARTS, MARTS_TESTED, TRANSFORM_CONN_ID, WAREHOUSE_CONN_ID


@contextmanager
def _warehouse():
    """A connection to the warehouse, its raw migrations applied (the alert state table among them), then closed."""
    from crypto_insights.airflow.hooks import warehouse_connection
    from crypto_insights.landing.migrations import ensure_migrated

    with warehouse_connection(WAREHOUSE_CONN_ID) as conn:
        ensure_migrated(conn)  # a read of the applied versions: they are applied at start-up and daily
        yield conn


@dag(
    schedule="* * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=2,  # leaves the executor's other slots to the landing and the dbt micro-batches
    dagrun_timeout=timedelta(minutes=5),
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(seconds=30),
        "execution_timeout": timedelta(minutes=3),
    },
    tags=["monitoring", "alerts"],
    doc_md=__doc__,
)
def crypto_monitor():
    @task
    def sweep_ingest_gaps() -> int:
        try:
            from crypto_insights.landing.accounting import account_gaps
        except ImportError as exc:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(f"the ingest gap sweep is not available: {exc}") from None
        from crypto_insights.config import load_settings

        settings = load_settings()
        # a window's slots are landed or recorded within the window: sweep only what lies a whole window back
        through = datetime.now(UTC) - timedelta(seconds=settings.ingest.window_seconds)
        with _warehouse() as conn:
            return account_gaps(conn, settings, through)

    @task
    def check_ingest_freshness(**context) -> dict[str, str]:
        from crypto_insights.airflow.notifiers import alert_sender
        from crypto_insights.config import load_settings
        from crypto_insights.monitoring.freshness import ingest_freshness
        from crypto_insights.monitoring.incidents import apply_check

        with _warehouse() as conn:
            result = ingest_freshness(conn, load_settings(), datetime.now(UTC))
            return apply_check(conn, result, alert_sender(context)).as_dict()

    @task
    def check_drop_rate(**context) -> dict[str, str]:
        from crypto_insights.airflow.hooks import warehouse_connection
        from crypto_insights.airflow.notifiers import alert_sender
        from crypto_insights.config import load_settings
        from crypto_insights.monitoring.drop_rate import drop_rate_check
        from crypto_insights.monitoring.incidents import apply_check

        # dbt's role reads its staging views
        with _warehouse() as conn, warehouse_connection(TRANSFORM_CONN_ID) as reader:
            result = drop_rate_check(reader, conn, load_settings(), datetime.now(UTC))
            return apply_check(conn, result, alert_sender(context)).as_dict()

    @task(inlets=[MARTS])
    def check_transform_recovered(**context) -> dict[str, str]:
        from crypto_insights.airflow.notifiers import alert_sender
        from crypto_insights.monitoring.transform import transform_recovery

        def marts_built_at() -> datetime | None:
            newest = context["inlet_events"][MARTS].ascending(False).limit(1)
            return newest[0].timestamp if len(newest) else None

        with _warehouse() as conn:
            return transform_recovery(conn, marts_built_at, alert_sender(context)).as_dict()

    @task(inlets=[MARTS_TESTED])
    def check_data_tests_recovered(**context) -> dict[str, str]:
        from crypto_insights.airflow.notifiers import alert_sender
        from crypto_insights.monitoring.alerts import DATA_TESTS_FAILED
        from crypto_insights.monitoring.transform import transform_recovery

        def tests_passed_at() -> datetime | None:
            newest = context["inlet_events"][MARTS_TESTED].ascending(False).limit(1)
            return newest[0].timestamp if len(newest) else None

        with _warehouse() as conn:
            return transform_recovery(conn, tests_passed_at, alert_sender(context), DATA_TESTS_FAILED).as_dict()

    sweep_ingest_gaps()
    check_ingest_freshness()
    check_drop_rate()
    check_transform_recovered()
    check_data_tests_recovered()


crypto_monitor()

"""
### Crypto data tests

Every minute, dbt's data tests over the recent windows (`__recent__`: the last `lookback_minutes`): primary keys,
accepted values, the drop and warn rules' reconciliation across layers, every slot accounted for. They are kept out
of `crypto_transform`'s per-slot micro-batch (they would cost it ~3 s each time); a minute's cadence checks every
window while it is recent. A failure alerts once (`data_tests_failed`, through the failure notifier) and
`crypto_monitor` resolves it when the tests pass again (the `crypto_marts_tested` asset). Daily marts are tested
by `crypto_maintenance`; unit tests check the SQL, so CI runs them.
"""

from datetime import datetime, timedelta

from airflow.sdk import dag
from cosmos.operators.local import DbtTestLocalOperator

from crypto_insights.airflow.assets import MARTS_TESTED
from crypto_insights.airflow.dbt import DBT_MACROS, dbt_operator_kwargs
from crypto_insights.airflow.notifiers import TaskFailureNotifier
from crypto_insights.transform.dbt_runner import DATA_TESTS_SELECTOR
from crypto_insights.transform.dbt_vars import DEFAULT_LOOKBACK_MINUTES


@dag(
    schedule="* * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=5),
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=10),
        "retry_exponential_backoff": True,
        "on_failure_callback": TaskFailureNotifier(alert_key="data_tests_failed"),
    },  # once per incident
    tags=["dbt", "data-quality", "tests"],
    doc_md=__doc__,
    user_defined_macros=DBT_MACROS,
)
def crypto_data_tests():
    DbtTestLocalOperator(
        task_id="dbt_test",
        selector=DATA_TESTS_SELECTOR,
        outlets=[MARTS_TESTED],
        **dbt_operator_kwargs(DEFAULT_LOOKBACK_MINUTES, cache="tests"),
    )


crypto_data_tests()

"""
### Crypto transform

Builds the dbt models (`dbt_project/`: staging → intermediate → marts) each time a slot is landed: the
`raw_coinbase_landed_slots` asset, whose watcher in the triggerer hears each landed slot (event-driven scheduling),
or else the window's `raw_coinbase_order_books` asset. Slots that land while a run is busy are taken in together by
the next run (`max_active_runs=1`). One `dbt run` per micro-batch, inside Airflow through astronomer-cosmos:
per-model tasks would spend more on task start-up than the models take (docs/architecture.md#orchestration). The
data tests are not in this hot path: `crypto_data_tests` runs them every minute over the recent windows, so a slot
reaches the marts ~3 s sooner. The selection is dbt's `micro_batch` selector (`dbt_project/selectors.yml`): the
daily marts are left to `crypto_maintenance`. The dbt profile is
mapped by Cosmos from the Airflow connection `crypto_transform`; the symbol and KPI settings come from
`include/crypto_insights.yaml` as dbt vars.
"""

from datetime import datetime, timedelta

from airflow.sdk import dag
from cosmos.operators.local import DbtRunLocalOperator

from crypto_insights.airflow.assets import LANDED_SLOTS, MARTS, RAW_ORDER_BOOKS
from crypto_insights.airflow.dbt import DBT_MACROS, dbt_operator_kwargs
from crypto_insights.airflow.notifiers import TaskFailureNotifier
from crypto_insights.transform.dbt_runner import MICRO_BATCH_SELECTOR
from crypto_insights.transform.dbt_vars import DEFAULT_LOOKBACK_MINUTES


@dag(
    schedule=LANDED_SLOTS | RAW_ORDER_BOOKS,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=10),
        "retry_exponential_backoff": True,
        "on_failure_callback": TaskFailureNotifier(alert_key="transform_failed"),
    },  # once per incident
    tags=["dbt", "transform", "marts"],
    doc_md=__doc__,
    user_defined_macros=DBT_MACROS,
)
def crypto_transform():
    DbtRunLocalOperator(
        task_id="dbt_run",
        selector=MICRO_BATCH_SELECTOR,
        outlets=[MARTS],
        **dbt_operator_kwargs(DEFAULT_LOOKBACK_MINUTES),
    )


crypto_transform()

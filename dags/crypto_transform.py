"""
### Crypto transform

Runs the dbt project (`dbt_project/`: staging → intermediate → marts, with its data tests) each time
`coinbase_ingest` lands a window (the `raw_coinbase_order_books` asset). dbt runs inside Airflow through
astronomer-cosmos as **one** `dbt build` of the incremental models per micro-batch: per-model tasks would spend
more on task start-up than the models take (DESIGN §7, §9). The dbt profile is mapped by Cosmos from the Airflow
connection `crypto_transform` (`AIRFLOW_CONN_CRYPTO_TRANSFORM`, role crypto_transform); the symbol and KPI
settings come from `include/crypto_insights.yaml` as dbt vars.
"""

from datetime import datetime, timedelta

from airflow.sdk import dag
from cosmos.config import ProfileConfig
from cosmos.constants import InvocationMode
from cosmos.operators.local import DbtBuildLocalOperator
from cosmos.profiles import PostgresUserPasswordProfileMapping

from crypto_insights.airflow.assets import MARTS, RAW_ORDER_BOOKS, TRANSFORM_CONN_ID
from crypto_insights.paths import DBT_PROJECT_DIR
from crypto_insights.transform.dbt_runner import dbt_executable
from crypto_insights.transform.dbt_vars import dbt_vars_json

PROFILE = ProfileConfig(
    profile_name="crypto_insights",
    target_name="airflow",
    profile_mapping=PostgresUserPasswordProfileMapping(conn_id=TRANSFORM_CONN_ID, profile_args={"schema": "staging"}),
)


@dag(
    schedule=[RAW_ORDER_BOOKS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10), "retry_exponential_backoff": True},
    tags=["dbt", "transform", "marts"],
    doc_md=__doc__,
)
def crypto_transform():
    DbtBuildLocalOperator(
        task_id="dbt_build",
        project_dir=str(DBT_PROJECT_DIR),
        profile_config=PROFILE,
        dbt_cmd_flags=["--vars", dbt_vars_json()],  # exactly what `crypto-insights dbt` passes
        dbt_executable_path=str(dbt_executable()),
        invocation_mode=InvocationMode.DBT_RUNNER,  # dbt shares Airflow's venv: no second interpreter start-up
        install_deps=False,
        outlets=[MARTS],
    )


crypto_transform()

"""How every Airflow task runs dbt through astronomer-cosmos: one profile, one project, one executable."""

from __future__ import annotations

from typing import Any

from cosmos.config import ProfileConfig
from cosmos.constants import InvocationMode
from cosmos.profiles import PostgresUserPasswordProfileMapping

from crypto_insights.airflow.assets import TRANSFORM_CONN_ID
from crypto_insights.paths import DBT_PROJECT_DIR
from crypto_insights.transform.dbt_runner import dbt_executable
from crypto_insights.transform.dbt_vars import DEFAULT_LOOKBACK_MINUTES, dbt_vars_json


def dbt_profile() -> ProfileConfig:
    """The dbt profile, from the Airflow connection (AIRFLOW_CONN_CRYPTO_TRANSFORM, role crypto_transform).

    A new one per operator: a Cosmos profile mapping keeps the connection it first looked up, so a shared
    module-level one would keep pointing at the old database after the connection changed in the same process.
    """
    return ProfileConfig(
        profile_name="crypto_insights",
        target_name="airflow",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=TRANSFORM_CONN_ID, profile_args={"schema": "staging"}
        ),
    )


def dbt_operator_kwargs(lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES, *extra_flags: str) -> dict[str, Any]:
    """Keyword arguments shared by the Cosmos dbt operators; the vars are exactly what `crypto-insights dbt` passes."""
    return {
        "project_dir": str(DBT_PROJECT_DIR),
        "profile_config": dbt_profile(),
        "dbt_executable_path": str(dbt_executable()),
        "invocation_mode": InvocationMode.DBT_RUNNER,  # dbt shares Airflow's venv: no second interpreter start-up
        "install_deps": False,
        "dbt_cmd_flags": ["--vars", dbt_vars_json(lookback_minutes=lookback_minutes), *extra_flags],
    }

"""How every Airflow task runs dbt through astronomer-cosmos: one profile, one project, one executable."""

from __future__ import annotations

from typing import Any

from cosmos.config import ProfileConfig
from cosmos.constants import InvocationMode
from cosmos.profiles import PostgresUserPasswordProfileMapping

from crypto_insights.airflow.assets import TRANSFORM_CONN_ID
from crypto_insights.paths import DBT_PROJECT_DIR, local_dir
from crypto_insights.transform.dbt_runner import DEFAULT_THREADS, dbt_executable
from crypto_insights.transform.dbt_vars import DEFAULT_LOOKBACK_MINUTES, dbt_vars_json


def _dbt_vars(lookback_minutes: int) -> str:
    return dbt_vars_json(lookback_minutes=lookback_minutes)


# Pass as the DAG's `user_defined_macros`: the dbt operators' `--vars` are rendered from the config at run time.
DBT_MACROS = {"crypto_insights_dbt_vars": _dbt_vars}


def dbt_profile() -> ProfileConfig:
    """The dbt profile, from the Airflow connection (AIRFLOW_CONN_CRYPTO_TRANSFORM, role crypto_transform).

    A new one per operator: a Cosmos profile mapping keeps the connection it first looked up, so a shared
    module-level one would keep pointing at the old database after the connection changed in the same process.
    """
    return ProfileConfig(
        profile_name="crypto_insights",
        target_name="airflow",
        # The same 2 threads as profiles.yml (the CLI's): independent models and tests overlap, and the 30 s mart
        # is built ~1 s sooner in each micro-batch than with Cosmos' default of 1.
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=TRANSFORM_CONN_ID, profile_args={"schema": "staging", "threads": DEFAULT_THREADS}
        ),
    )


def dbt_operator_kwargs(
    lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES, *extra_flags: str, cache: str = "models"
) -> dict[str, Any]:
    """Keyword arguments shared by the Cosmos dbt operators; the vars are exactly what `crypto-insights dbt` passes.

    `cache` names the operator's partial-parse cache: operators that may run at the same time (the micro-batch and
    the data tests) each need their own, or one would overwrite the file the other is reading.
    """
    return {
        "project_dir": str(DBT_PROJECT_DIR),
        "profile_config": dbt_profile(),
        "dbt_executable_path": str(dbt_executable()),
        "invocation_mode": InvocationMode.DBT_RUNNER,  # dbt shares Airflow's venv: no second interpreter start-up
        "install_deps": False,
        # Rendered when the task runs (a Jinja template of the DAG's `DBT_MACROS`), never when the DAG file is
        # parsed: a bad config fails the task with its one-line error instead of breaking the DAG's import.
        "dbt_cmd_flags": ["--vars", f"{{{{ crypto_insights_dbt_vars({lookback_minutes}) }}}}", *extra_flags],
        # Cosmos runs dbt in a fresh copy of the project each time; without a cache folder it cannot hand dbt the
        # last run's partial_parse.msgpack and every micro-batch re-parses the project (~2.7 s of a ~9 s task).
        # One folder per set of vars: dbt starts over when the vars differ, so sharing would only thrash it. And one
        # per home (not Cosmos' machine-wide /tmp/cosmos): another stack's or a test's dbt (another profile) would
        # otherwise overwrite it and cost this stack a full parse.
        "cache_dir": local_dir() / "cosmos" / f"crypto_insights_{cache}_lookback_{lookback_minutes}",
    }

"""Only the Airflow scheduler preloads dbt (its forked task processes inherit it); nothing else pays for it."""

from __future__ import annotations

import pytest

from crypto_insights.airflow.local_settings import is_scheduler
from crypto_insights.stack.airflow_env import LOCAL_SETTINGS_SHIM


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/repo/.venv/bin/airflow", "scheduler"], True),
        (["/repo/.venv/bin/airflow", "api-server"], False),
        (["/repo/.venv/bin/airflow", "dag-processor"], False),
        (["/repo/.venv/bin/airflow", "triggerer"], False),
        (["/repo/.venv/bin/airflow"], False),
        (["/repo/.venv/bin/crypto-insights", "scheduler"], False),
        (["-c"], False),
    ],
)
def test_only_the_scheduler_preloads_dbt(argv: list[str], expected: bool) -> None:
    assert is_scheduler(argv) is expected


def test_the_shim_exports_nothing_into_airflow_settings() -> None:
    namespace: dict[str, object] = {}
    exec(compile(LOCAL_SETTINGS_SHIM, "airflow_local_settings.py", "exec"), namespace)
    assert namespace["__all__"] == []

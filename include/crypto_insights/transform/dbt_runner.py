"""Run dbt on the warehouse: the environment, the vars and the executable in one place.

The CLI (`crypto-insights dbt`), the tests and the Airflow DAG all go through here, so dbt always connects as
`crypto_transform` and always sees the symbols and KPI settings of the one config.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from crypto_insights.config import Settings
from crypto_insights.paths import DBT_PROJECT_DIR, local_dir
from crypto_insights.postgres.connection import endpoint
from crypto_insights.transform.dbt_vars import DEFAULT_LOOKBACK_MINUTES, dbt_vars_json

log = logging.getLogger(__name__)
DEFAULT_THREADS = 2

# The selectors of dbt_project/selectors.yml that production runs; the DAGs, the CLI and the benchmarks name them here.
MICRO_BATCH_SELECTOR = "micro_batch"  # crypto_transform, after each landed slot: the models but the daily marts
DATA_TESTS_SELECTOR = "recent_data_tests"  # crypto_data_tests, every minute: the data tests but the daily marts'
DAILY_SELECTOR = "daily"  # crypto_maintenance, once a day: the daily marts and everything upstream
# What every micro-batch runs. Unit tests test the SQL, not the data, and belong to CI
# (`crypto-insights dbt -- test --select "test_type:unit"`).
MICRO_BATCH_ARGS = ("run", "--selector", MICRO_BATCH_SELECTOR)


class DbtNotInstalled(RuntimeError):
    pass


def dbt_executable() -> Path:
    """`dbt` next to the running interpreter (the project venv's), never whatever is first on PATH."""
    path = Path(sys.executable).parent / "dbt"
    if not path.exists():
        raise DbtNotInstalled(
            f"dbt is not installed next to {sys.executable}: run `make install` (it installs "
            "dbt-core and dbt-postgres into .venv)"
        )
    return path


def dbt_env(dbname: str | None = None, *, threads: int | None = None) -> dict[str, str]:
    """The DBT_* variables `profiles.yml` reads (the `transform` role), plus no telemetry."""
    ep = endpoint("transform", dbname)
    return {
        "DBT_HOST": ep.host,
        "DBT_PORT": str(ep.port),
        "DBT_USER": ep.user,
        "DBT_PASSWORD": ep.password,
        "DBT_DBNAME": ep.dbname,
        "DBT_THREADS": str(threads or os.environ.get("DBT_THREADS") or DEFAULT_THREADS),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_command(
    args: list[str],
    *,
    settings: Settings | None = None,
    lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES,
    rebuild_history: bool = False,
) -> list[str]:
    """`dbt <args> --vars <json>`, unless the caller passes its own `--vars`."""
    command = [str(dbt_executable()), *args]
    if "--vars" not in args:
        command += [
            "--vars",
            dbt_vars_json(settings, lookback_minutes=lookback_minutes, rebuild_history=rebuild_history),
        ]
    return command


def run_dbt(
    args: list[str],
    *,
    dbname: str | None = None,
    settings: Settings | None = None,
    lookback_minutes: int = DEFAULT_LOOKBACK_MINUTES,
    rebuild_history: bool = False,
    capture: bool = True,
    target_path: Path | None = None,
    threads: int | None = None,
) -> subprocess.CompletedProcess:
    """Run `dbt <args>` in `dbt_project/` against the warehouse `dbname` (default `crypto`).

    Returns the finished process (output captured as text unless `capture=False`); the caller decides what a
    non-zero exit means (`dbt build` exits 1 when a test with severity error fails). `target_path` keeps this
    invocation's artifacts and logs apart (concurrent runs must not share a target); reuse it across runs so dbt
    parses only what changed. Without one (and without $DBT_TARGET_PATH), they go to `.local/dbt/`.
    `rebuild_history` lets `--full-refresh` rebuild the history marts too.
    """
    command = dbt_command(args, settings=settings, lookback_minutes=lookback_minutes, rebuild_history=rebuild_history)
    env = {**os.environ, **dbt_env(dbname, threads=threads)}
    if target_path is not None:
        env["DBT_TARGET_PATH"] = str(target_path)
        env["DBT_LOG_PATH"] = str(Path(target_path) / "logs")
    elif "DBT_TARGET_PATH" not in env:  # dbt's artifacts and logs are runtime state: under .local/, not the checkout
        env["DBT_TARGET_PATH"] = str(local_dir() / "dbt" / "target")
        env.setdefault("DBT_LOG_PATH", str(local_dir() / "dbt" / "logs"))
    log.info("running dbt %s on %s", " ".join(args), env["DBT_DBNAME"])
    return subprocess.run(command, cwd=DBT_PROJECT_DIR, env=env, text=True, capture_output=capture, check=False)

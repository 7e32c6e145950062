"""A pytest plugin (loaded with `-p`, before any test imports Airflow) giving the session its own world.

- CRYPTO_INSIGHTS_HOME: a temporary folder, so tests never touch the demo's `.local/`;
- one embedded PostgreSQL (the project's own runner) with the production roles and databases;
- Airflow configured from environment variables, as in production: metadata in that PostgreSQL's `airflow`
  database, the warehouse connection as `AIRFLOW_CONN_CRYPTO_WAREHOUSE`, examples off, the project's dags folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from crypto_insights.paths import DAGS_DIR
from crypto_insights.postgres.bootstrap import bootstrap
from crypto_insights.postgres.connection import endpoint
from crypto_insights.postgres.server import EmbeddedPostgres

_SESSION: dict[str, object] = {}


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # pragma: no cover - no xdist here
        return
    home = Path(tempfile.mkdtemp(prefix="crypto-insights-test-"))
    home.chmod(0o755)  # the PostgreSQL account (nobody, when we are root) must reach the cluster
    os.environ["CRYPTO_INSIGHTS_HOME"] = str(home)
    os.environ.pop("CRYPTO_INSIGHTS_DATABASE_URL", None)
    os.environ.pop("COINBASE_API_URL", None)
    server = EmbeddedPostgres(home / "postgres")
    state = server.start()
    bootstrap(endpoint("admin"), state.passwords)
    airflow_home = home / "airflow"
    airflow_home.mkdir()
    os.environ.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": endpoint("airflow").url("postgresql+psycopg2"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "AIRFLOW_CONN_CRYPTO_WAREHOUSE": endpoint("loader").url(),
            "AIRFLOW_CONN_CRYPTO_TRANSFORM": endpoint("transform").url(),
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
            "XDG_RUNTIME_DIR": str(home),
        }
    )
    _SESSION.update(home=home, server=server)


def pytest_unconfigure(config: pytest.Config) -> None:
    airflow_settings = sys.modules.get("airflow.settings")
    if airflow_settings is not None:  # close Airflow's pooled connections before their server goes away
        try:
            airflow_settings.dispose_orm(do_log=False)
        except Exception as exc:  # tests restart PostgreSQL: a pooled connection may already be dead
            print(f"(Airflow's pooled connection was already closed: {type(exc).__name__})")
    server = _SESSION.pop("server", None)
    if isinstance(server, EmbeddedPostgres):
        server.destroy()
    home = _SESSION.pop("home", None)
    if isinstance(home, Path):
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_home() -> Path:
    return _SESSION["home"]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def pg() -> EmbeddedPostgres:
    server = _SESSION["server"]
    assert isinstance(server, EmbeddedPostgres)
    return server

"""Airflow's configuration for the local stack, all from environment variables (as in docker-compose)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from crypto_insights.paths import DAGS_DIR, local_dir
from crypto_insights.postgres.connection import endpoint
from crypto_insights.stack.ports import port
from crypto_insights.stack.secrets_store import load_secrets
from crypto_insights.transform.dbt_docs import cosmos_docs_setting

ADMIN_USER = "admin"
LOCAL_SETTINGS_SHIM = (
    '"""Airflow\'s local settings: crypto_insights.airflow.local_settings (make demo writes this file into\n'
    '$AIRFLOW_HOME/config; docker-compose.yaml mounts the repo\'s config/ there)."""\n'
    "import crypto_insights.airflow.local_settings  # noqa: F401\n\n"
    "__all__: list[str] = []  # nothing here replaces Airflow's own settings\n"
)

SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


def airflow_home() -> Path:
    return local_dir() / "airflow"


def airflow_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    secrets = load_secrets()
    home = airflow_home()
    home.mkdir(parents=True, exist_ok=True)
    passwords_file = home / "simple_auth_manager_passwords.json"
    passwords_file.write_text(json.dumps({ADMIN_USER: secrets["airflow_admin_password"]}))
    os.chmod(passwords_file, 0o600)
    (home / "config").mkdir(exist_ok=True)  # on Airflow's sys.path: its airflow_local_settings is ours
    (home / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS_SHIM)
    api = f"http://127.0.0.1:{port('airflow')}"
    env = dict(base if base is not None else os.environ)
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": endpoint("airflow").url("postgresql+psycopg2"),
            "AIRFLOW__API__BASE_URL": api,
            "AIRFLOW__API__PORT": str(port("airflow")),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets["airflow_api_secret_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets["airflow_jwt_secret"],
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "30",
            # An idle scheduler loop sleeps this long (default 1 s) before it sees a landed window's asset event or a
            # finished trigger: two such waits lie between a slot and the marts
            # (docs/architecture.md#cadence-and-freshness).
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.25",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            # A task whose process died with a killed scheduler is failed (and retried) after 60 s, not Airflow's 300 s:
            # with max_active_runs=1 its run would otherwise hold back the next landing window for five minutes.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "10",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            # Cosmos' docs plugin serves the project's dbt docs in the UI (Browse > dbt Docs (Crypto Insights))
            "AIRFLOW__COSMOS__DBT_DOCS_PROJECTS": cosmos_docs_setting(),
            "AIRFLOW_CONN_CRYPTO_WAREHOUSE": endpoint("loader").url(),
            "AIRFLOW_CONN_CRYPTO_TRANSFORM": endpoint("transform").url(),
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
        }
    )
    return env

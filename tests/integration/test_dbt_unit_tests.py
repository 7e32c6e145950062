"""dbt's unit tests check the SQL, not the deployment: they pass whatever the config holds (here BTC-USD alone).

Each unit test sets the `crypto_insights` var it was worked out with (`overrides: vars:` in the models' YAML), so
`crypto-insights dbt -- build` on a deployment of other coins, other whale floors or one coin still passes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
import yaml

from crypto_insights.landing.migrations import migrate
from crypto_insights.paths import DBT_PROJECT_DIR, DEFAULT_CONFIG_PATH
from crypto_insights.postgres.connection import endpoint

pytestmark = pytest.mark.integration


def defined_unit_tests() -> set[str]:
    names: set[str] = set()
    for path in (DBT_PROJECT_DIR / "models").rglob("_*.yml"):
        names |= {t["name"] for t in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", [])}
    return names


def btc_only_config(tmp_path: Path) -> Path:
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["symbols"] = {"BTC-USD": config["symbols"]["BTC-USD"]}
    path = tmp_path / "btc_only.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_dbt_build_passes_every_unit_test_with_a_btc_only_config(warehouse_db: str, tmp_path: Path) -> None:
    conn = psycopg2.connect(**endpoint("loader", warehouse_db).connect_kwargs())
    try:
        migrate(conn)
    finally:
        conn.close()
    target = tmp_path / "target"
    env = {
        **os.environ,
        "CRYPTO_INSIGHTS_CONFIG": str(btc_only_config(tmp_path)),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "crypto_insights.cli", "dbt", "--db", warehouse_db, "--", "build"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]

    results = json.loads((target / "run_results.json").read_text())["results"]
    unit = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert set(unit) == defined_unit_tests() and set(unit.values()) == {"pass"}, unit

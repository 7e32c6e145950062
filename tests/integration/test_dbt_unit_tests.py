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

import pytest
import yaml
from tests.integration.landing_helpers import query

from crypto_insights.paths import DBT_PROJECT_DIR, DEFAULT_CONFIG_PATH, local_dir

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


def test_dbt_build_passes_every_unit_test_with_a_btc_only_config(warehouse: str, tmp_path: Path) -> None:
    # `--config` as a user passes it; dbt's artifacts land in the home's .local/dbt/ when nobody says otherwise
    env = {k: v for k, v in os.environ.items() if k not in ("DBT_TARGET_PATH", "DBT_LOG_PATH")}
    config = btc_only_config(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "crypto_insights.cli", "dbt", "--db", warehouse, "--config", str(config), "--", "build"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    target = local_dir() / "dbt" / "target"
    assert (local_dir() / "dbt" / "logs" / "dbt.log").exists()
    assert json.loads((target / "manifest.json").read_text())["metadata"]["invocation_id"]

    results = json.loads((target / "run_results.json").read_text())["results"]
    unit = {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert set(unit) == defined_unit_tests() and set(unit.values()) == {"pass"}, unit
    # the BTC-only config reached dbt: dim_symbols holds its one coin
    assert query(warehouse, "select product_id from marts.dim_symbols") == [{"product_id": "BTC-USD"}]


def test_a_bad_config_stops_dbt_with_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEFAULT_CONFIG_PATH.read_text().replace("top_levels:", "top_levls:", 1))
    result = subprocess.run(
        [sys.executable, "-m", "crypto_insights.cli", "dbt", "--config", str(bad), "--", "ls"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "top_levls" in result.stderr and "did you mean" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr

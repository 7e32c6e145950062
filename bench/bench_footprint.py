"""Set-up from a fresh clone (docs/architecture.md#performance-targets: `make demo` to live dashboards in <= 10 min):
`git clone` of this repository, then `make install install-superset` with empty package caches (everything downloaded
from the package registries, as on a new machine), then `make demo` in the clone until a dashboard's dataset answers
through Superset with data, then the same install again with the caches warm. The stack's memory is measured by
bench_freshness (live demo).

The clone is of the committed HEAD (uncommitted changes are not in it). The clone's demo needs the machine to
itself: it is skipped while this checkout's demo runs. Everything the clone started is stopped and the clone
deleted; the machine lock (/tmp/crypto-insights-bench.lock) is held throughout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.bench_dbt import machine_lock
from crypto_insights.paths import REPO_ROOT
from crypto_insights.stack.ports import DEFAULTS, is_free

TARGET = "make demo on a fresh clone to live dashboards <= 10 min"
ISOLATED_PREFIXES = ("AIRFLOW", "CRYPTO_INSIGHTS_", "UV_", "PIP_FIND_LINKS", "PIP_CACHE", "VIRTUAL_ENV", "DBT_")
DATA_DEADLINE_S = 600


def _du_mib(path: Path) -> int:
    if not path.exists():
        return 0
    out = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else 0


def _clean_env(caches: Path) -> dict[str, str]:
    """A new machine's shell: no project, Airflow or uv settings, no pip configuration (this machine's points pip
    at local wheel folders), and package caches of the benchmark's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    env.update(
        {"UV_CACHE_DIR": str(caches / "uv"), "PIP_CACHE_DIR": str(caches / "pip"), "PIP_CONFIG_FILE": os.devnull}
    )
    return env


def _timed(argv: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> float:
    started = time.monotonic()
    with log.open("ab") as out:
        subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=True)
    return round(time.monotonic() - started, 1)


def _install(clone: Path, env: dict[str, str], log: Path) -> float:
    return _timed(["make", "install", "install-superset"], clone, env, log, timeout=3600)


def _demo_running() -> bool:
    cli = Path(sys.executable).parent / "crypto-insights"
    status = subprocess.run([str(cli), "demo", "status"], capture_output=True, text=True).stdout
    return " running" in status


def _dashboard_data(base: str, password: str) -> int:
    """Rows Superset returns for the 30 s mart's dataset (what every coin's dashboard reads); 0 before data."""
    session = requests.Session()
    login = session.post(
        f"{base}/api/v1/security/login", timeout=30, json={"username": "admin", "password": password, "provider": "db"}
    )
    login.raise_for_status()
    session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    q = "(filters:!((col:table_name,opr:eq,value:fct_order_book_30s)))"
    datasets = session.get(f"{base}/api/v1/dataset/", params={"q": q}, timeout=30).json()["result"]
    body = {
        "datasource": {"id": datasets[0]["id"], "type": "table"},
        "queries": [
            {
                "columns": [],
                "metrics": [{"expressionType": "SQL", "sqlExpression": "count(*)", "label": "n"}],
                "row_limit": 1,
            }
        ],
        "result_format": "json",
        "result_type": "full",
        "force": True,
    }
    answer = session.post(f"{base}/api/v1/chart/data", json=body, timeout=60)
    if not answer.ok:
        return 0
    return int(answer.json()["result"][0]["data"][0]["n"] or 0)


def _demo_to_data(clone: Path, env: dict[str, str], log: Path) -> dict[str, object]:
    env = dict(env)
    for service, default in DEFAULTS.items():
        if not is_free(default):
            raise RuntimeError(f"port {default} ({service}) is taken: stop what uses it first")
    started = time.monotonic()
    _timed(["make", "demo"], clone, env, log, timeout=1800)
    up = round(time.monotonic() - started, 1)
    output = log.read_text(errors="replace")
    password = re.findall(r"Superset .*login admin / (\S+)", output)[-1]
    base = re.findall(r"Superset\s+(http://[\d.:]+)", output)[-1]
    rows, error = 0, ""
    while time.monotonic() - started < up + DATA_DEADLINE_S:
        try:
            rows = _dashboard_data(base, password)
        except (requests.RequestException, KeyError, IndexError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        if rows:
            break
        time.sleep(2)
    data = round(time.monotonic() - started, 1)
    return {
        "make_demo_s": up,
        "make_demo_to_dashboard_data_s": data if rows else None,
        "dashboard_data_error": "" if rows else error or "no data before the deadline",
    }


def _stop(clone: Path, env: dict[str, str], log: Path) -> None:
    if (clone / ".venv" / "bin" / "crypto-insights").exists():
        with log.open("ab") as out:
            subprocess.run(["make", "stop"], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=300)


def run(demo: bool = True, keep: bool = False) -> dict:
    with machine_lock() as lock_note:
        result = _measure(demo, keep)
    result["lock"] = lock_note
    return result


def _measure(demo: bool, keep: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="crypto-insights-fresh-"))
    work.chmod(0o755)  # PostgreSQL runs as nobody when we are root
    clone, caches, log = work / "repo", work / "caches", work / "setup.log"
    env = _clean_env(caches)
    result: dict[str, object] = {}
    try:
        started = time.monotonic()
        subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
        result["git_clone_s"] = round(time.monotonic() - started, 1)
        result["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
        ).stdout.strip()
        result["install_cold_cache_s"] = _install(clone, env, log)
        result["downloaded_cache_mib"] = _du_mib(caches)
        result["venvs_mib"] = _du_mib(clone / ".venv") + _du_mib(clone / ".venv-superset")
        if not demo:
            result["demo"] = "not run (demo=False)"
        elif _demo_running():
            result["demo"] = "skipped: this checkout's demo is running (it would share ports and CPU)"
        else:
            try:
                result.update(_demo_to_data(clone, env, log))
            finally:
                _stop(clone, env, log)
            result["fresh_clone_to_dashboard_data_s"] = (
                round(
                    result["git_clone_s"] + result["install_cold_cache_s"] + result["make_demo_to_dashboard_data_s"], 1
                )
                if result.get("make_demo_to_dashboard_data_s")
                else None
            )
        if keep and (clone / ".local").exists():  # the demo's logs and databases, to look into
            (clone / ".local").rename(work / "demo-local")
        for leftover in (".venv", ".venv-superset", ".local"):
            shutil.rmtree(clone / leftover, ignore_errors=True)
        result["install_warm_cache_s"] = _install(clone, env, log)
    except subprocess.CalledProcessError as exc:
        result["error"] = f"{exc}; last lines of {log}:\n" + "\n".join(log.read_text().splitlines()[-15:])
    finally:
        _stop(clone, env, log)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    result["target"] = TARGET
    return result


if __name__ == "__main__":
    print(json.dumps(run(demo="--no-demo" not in sys.argv, keep="--keep" in sys.argv), indent=2, default=str))

"""`make demo`'s own command end to end: a fresh home, everything started, data reaching the dashboards' marts,
the dashboards served, and `demo down` leaving nothing running. Ports and folders are the test's own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
import requests

from crypto_insights.config import load_settings
from crypto_insights.postgres.server import free_port

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).parent / "crypto-insights")
MARTS_DEADLINE_S = 300


@dataclass
class Demo:
    env: dict[str, str]
    home: Path
    output: str

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([CLI, *args], env=self.env, capture_output=True, text=True, timeout=timeout)


def _demo_env(home: Path) -> dict[str, str]:
    """The user's shell: none of the test session's Airflow or project settings, the test's own home and ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRYPTO_INSIGHTS_"))}
    env.update({
        "CRYPTO_INSIGHTS_HOME": str(home),
        "CRYPTO_INSIGHTS_FORCE_OFFLINE": "1",
        "CRYPTO_INSIGHTS_AIRFLOW_PORT": str(free_port()),
        "CRYPTO_INSIGHTS_SUPERSET_PORT": str(free_port()),
        "CRYPTO_INSIGHTS_EXCHANGE_PORT": str(free_port()),
    })  # fmt: skip
    return env


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    home = Path(tempfile.mkdtemp(prefix="crypto-insights-demo-"))
    home.chmod(0o755)  # PostgreSQL runs as nobody when we are root
    env = _demo_env(home)
    started = subprocess.run([CLI, "demo", "up"], env=env, capture_output=True, text=True, timeout=900)
    running = Demo(env, home, started.stdout + started.stderr)
    try:
        assert started.returncode == 0, running.output[-5000:]
        yield running
    finally:
        stopped = running.cli("demo", "down")
        shutil.rmtree(home, ignore_errors=True)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def _reader_query(demo: Demo, sql: str) -> list[tuple]:
    url = demo.cli("postgres", "url", "--role", "reader").stdout.strip().splitlines()[-1]
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def test_demo_says_where_everything_is(demo: Demo) -> None:
    out = demo.output
    assert "SIMULATED DATA" in out  # said loudly: the offline exchange, not Coinbase
    assert f"http://127.0.0.1:{demo.env['CRYPTO_INSIGHTS_AIRFLOW_PORT']}" in out
    assert re.search(rf"Superset  http://127\.0\.0\.1:{demo.env['CRYPTO_INSIGHTS_SUPERSET_PORT']}/superset/dashboard/",
                     out)
    assert re.search(r"login admin / \S{12,}", out)  # generated passwords, no default
    status = demo.cli("demo", "status").stdout
    for name in ("postgres", "exchange", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                 "airflow-triggerer", "superset"):
        assert re.search(rf"^{name}\s+running", status, re.M), status


def test_landed_slots_reach_the_marts_within_minutes(demo: Demo) -> None:
    products = sorted(load_settings().product_ids)
    deadline = time.monotonic() + MARTS_DEADLINE_S
    seen: list[tuple] = []
    while time.monotonic() < deadline:
        try:
            seen = _reader_query(demo, "select product_id, max(window_start) from marts.fct_order_book_30s "
                                       "group by 1 order by 1")
        except psycopg2.errors.UndefinedTable:  # dbt has not run yet
            seen = []
        if [p for p, _ in seen] == products:
            print(f"marts filled {MARTS_DEADLINE_S - (deadline - time.monotonic()):.0f}s after `demo up`: {seen}")
            break
        time.sleep(5)
    logs = demo.home / "logs"
    assert [p for p, _ in seen] == products, f"marts not filled; see {logs}: {sorted(os.listdir(logs))}"


def test_superset_serves_one_dashboard_per_coin(demo: Demo) -> None:
    url = f"http://127.0.0.1:{demo.env['CRYPTO_INSIGHTS_SUPERSET_PORT']}"
    password = re.search(r"Superset .*login admin / (\S+)", demo.output).group(1)
    session = requests.Session()
    token = session.post(f"{url}/api/v1/security/login", timeout=30,
                         json={"username": "admin", "password": password, "provider": "db"}).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    dashboards = session.get(f"{url}/api/v1/dashboard/", timeout=30, params={"q": "(page_size:100)"}).json()["result"]
    titles = " ".join(d["dashboard_title"] for d in dashboards)
    for product_id in load_settings().product_ids:
        assert product_id in titles, titles


def test_demo_down_stops_everything(demo: Demo) -> None:
    pids = [int(p.read_text()) for p in (demo.home / "run").glob("*.pid")]
    assert pids, "the demo wrote no pid files"
    stopped = demo.cli("demo", "down")
    assert stopped.returncode == 0, stopped.stderr
    time.sleep(1)
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert not alive, f"still running after demo down: {alive}"
    assert "running" not in demo.cli("demo", "status").stdout

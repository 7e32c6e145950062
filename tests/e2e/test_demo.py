"""`make demo`'s own command end to end: a fresh home, everything started under supervisord and listening on
127.0.0.1 only, data reaching the dashboards' marts, the dashboards served; then the demo healing itself (a
`kill -9`ed triggerer, a PostgreSQL outage) and `demo down` leaving nothing running. Ports and folders are the
test's own. The tests run in file order on one demo."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest
import requests
from tests.e2e.demo_helpers import airflow_heartbeats, alive, listeners, marked_processes, port_listening
from tests.e2e.superset_helpers import ARTIFACTS

from crypto_insights.config import load_settings
from crypto_insights.postgres.server import free_port
from crypto_insights.stack.programs import DEMO_PROGRAMS
from crypto_insights.stack.supervisor import Supervisor

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).parent / "crypto-insights")
MARTS_DEADLINE_S = 300
PROGRAMS = DEMO_PROGRAMS
AIRFLOW = [name for name in PROGRAMS if name.startswith("airflow-")]
COMPONENTS = ("scheduler", "triggerer", "dag_processor")  # as Airflow's health endpoint names them
RESTART_DEADLINE_S = 120  # a kill -9ed triggerer RUNNING again (startsecs 10 s) and heartbeating
OUTAGE_S = 20
RECOVERY_DEADLINE_S = 240  # after PostgreSQL is back: every Airflow program RUNNING and heartbeating again


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
    env.update(
        {
            "CRYPTO_INSIGHTS_HOME": str(home),
            "CRYPTO_INSIGHTS_FORCE_OFFLINE": "1",
            "CRYPTO_INSIGHTS_AIRFLOW_PORT": str(free_port()),
            "CRYPTO_INSIGHTS_SUPERSET_PORT": str(free_port()),
            "CRYPTO_INSIGHTS_EXCHANGE_PORT": str(free_port()),
        }
    )
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
        stopped = running.cli("demo", "down", timeout=300)
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
    assert re.search(
        rf"Superset  http://127\.0\.0\.1:{demo.env['CRYPTO_INSIGHTS_SUPERSET_PORT']}/superset/dashboard/", out
    )
    assert re.search(r"login admin / \S{12,}", out)  # generated passwords, no default
    status = demo.cli("demo", "status").stdout
    for name in ("postgres", "supervisord", *PROGRAMS):
        assert re.search(rf"^{name}\s+running", status, re.M), status  # supervisord's own state, lower case


def test_every_listener_is_on_loopback(demo: Demo) -> None:
    """Airflow's log servers would listen on every interface: the demo does not start them (see
    crypto_insights/stack/programs.py); everything else binds 127.0.0.1."""
    processes = marked_processes(demo.home)
    assert set(processes.values()) == set(PROGRAMS), processes
    bound = listeners(processes)
    print(f"listeners: { {processes[pid]: sorted(addresses) for pid, addresses in bound.items()} }")
    assert {processes[pid] for pid in bound} >= {"exchange", "airflow-api-server", "superset"}, bound
    for pid, addresses in bound.items():
        assert all(a.startswith("127.0.0.1:") for a in addresses), (processes[pid], addresses)


def test_the_benchmarks_measure_every_program_of_the_demo(demo: Demo) -> None:
    """bench_freshness's memory and CPU figures cover the whole stack: each supervised program and PostgreSQL."""
    from bench.stack_memory import demo_roots, stack_sample

    assert set(demo_roots(demo.home)) == {*PROGRAMS, "postgres"}
    sample = stack_sample(demo.home)
    assert all(sample[name]["pss_mib"] > 10 for name in (*PROGRAMS, "postgres")), sample
    assert sample["total"]["processes"] >= len(PROGRAMS) + 5  # gunicorn workers, PostgreSQL backends


def test_landed_slots_reach_the_marts_within_minutes(demo: Demo) -> None:
    products = sorted(load_settings().product_ids)
    deadline = time.monotonic() + MARTS_DEADLINE_S
    seen: list[tuple] = []
    while time.monotonic() < deadline:
        try:
            seen = _reader_query(
                demo, "select product_id, max(window_start) from marts.fct_order_book_30s group by 1 order by 1"
            )
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
    token = session.post(
        f"{url}/api/v1/security/login", timeout=30, json={"username": "admin", "password": password, "provider": "db"}
    ).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    dashboards = session.get(f"{url}/api/v1/dashboard/", timeout=30, params={"q": "(page_size:100)"}).json()["result"]
    titles = " ".join(d["dashboard_title"] for d in dashboards)
    for product_id in load_settings().product_ids:
        assert product_id in titles, titles


def test_dbt_docs_are_served_in_airflow_with_each_dashboard_as_an_exposure(demo: Demo, browser) -> None:
    """Cosmos' docs plugin serves the docs the demo generated; a real browser renders them, lineage included."""
    base = f"http://127.0.0.1:{demo.env['CRYPTO_INSIGHTS_AIRFLOW_PORT']}"
    docs_url = re.search(r"dbt docs  (\S+/cosmos/crypto_insights/dbt_docs_index\.html)", demo.output).group(1)
    assert docs_url.startswith(base), demo.output[-2000:]
    manifest = requests.get(f"{base}/cosmos/crypto_insights/manifest.json", timeout=30).json()
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert len(exposures) == len(load_settings().product_ids)
    assert "model.crypto_insights.fct_order_book_30s" in exposures["superset_btc_usd_order_book"]["depends_on"]["nodes"]

    # the menu link, as Airflow's UI lists it (Browse > dbt Docs (Crypto Insights))
    password = re.search(r"Airflow .*login admin / (\S+)", demo.output).group(1)
    token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30)
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    plugins = requests.get(f"{base}/api/v2/plugins", headers=headers, timeout=30).json()["plugins"]
    views = [v for p in plugins for v in p.get("external_views", [])]
    assert any(v["name"] == "dbt Docs (Crypto Insights)" and v["href"].endswith(docs_url[len(base) :]) for v in views)

    context = browser.new_context()
    page = context.new_page()
    try:

        def shows(*texts: str) -> None:  # rendered and visible (innerText leaves hidden elements out)
            script = "texts => texts.every(t => document.body.innerText.includes(t))"
            page.wait_for_function(script, arg=list(texts), timeout=60_000)

        page.goto(f"{docs_url}#!/model/model.crypto_insights.fct_order_book_30s", timeout=60_000)
        shows("fct_order_book_30s", "Columns")  # the docs app read the manifest served by the plugin
        page.screenshot(path=str(ARTIFACTS / "dbt-docs-model.png"), full_page=True)
        page.goto(f"{docs_url}#!/exposure/exposure.crypto_insights.superset_btc_usd_order_book", timeout=60_000)
        shows("BTC-USD order book (Superset)")
        page.screenshot(path=str(ARTIFACTS / "dbt-docs-exposure.png"), full_page=True)
    finally:
        context.close()


def _wait_for(check: Callable[[], object], timeout_s: float, every_s: float = 1.0) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(every_s)
    return check()


def _heartbeating_since(demo: Demo, since: datetime, components: tuple[str, ...] = COMPONENTS) -> bool:
    """Airflow's health endpoint reports these components healthy, with a heartbeat later than `since`."""
    try:
        beats = airflow_heartbeats(int(demo.env["CRYPTO_INSIGHTS_AIRFLOW_PORT"]))
    except (requests.RequestException, ValueError):
        return False
    return all((beat := beats[c]) is not None and beat > since for c in components)


def test_a_killed_triggerer_is_restarted_and_leaves_no_orphan(demo: Demo) -> None:
    supervisor = Supervisor(demo.home)
    old = supervisor.pid("airflow-triggerer")
    assert old is not None and supervisor.state("airflow-triggerer") == "RUNNING"
    family = [pid for pid, name in marked_processes(demo.home).items() if name == "airflow-triggerer"]
    killed_at, started = datetime.now(UTC), time.monotonic()
    os.kill(old, signal.SIGKILL)
    new = _wait_for(
        lambda: (
            supervisor.state("airflow-triggerer") == "RUNNING"
            and supervisor.pid("airflow-triggerer") not in (None, old)
        ),
        RESTART_DEADLINE_S,
        0.2,
    )
    running_s = time.monotonic() - started
    assert new, f"not RUNNING: {supervisor.state('airflow-triggerer')}\n{supervisor.log_tail('airflow-triggerer')}"
    new_pid = supervisor.pid("airflow-triggerer")
    survivors = [pid for pid in family if alive(pid) and pid != new_pid]
    assert not survivors, f"the killed triggerer's processes outlived it: {survivors}"
    assert _wait_for(lambda: _heartbeating_since(demo, killed_at, ("triggerer",)), RESTART_DEADLINE_S), (
        "the new triggerer does not heartbeat"
    )
    print(
        f"triggerer kill -9 -> RUNNING again (pid {old} -> {new_pid}) in {running_s:.1f}s, "
        f"heartbeating in {time.monotonic() - started:.1f}s; no orphan of {family}"
    )
    for pid, addresses in listeners(marked_processes(demo.home)).items():
        assert all(a.startswith("127.0.0.1:") for a in addresses), (pid, addresses)


def test_airflow_rides_out_a_postgres_outage(demo: Demo) -> None:
    supervisor = Supervisor(demo.home)
    seen: dict[str, set[str]] = {name: set() for name in PROGRAMS}

    def observe() -> bool:
        for name in PROGRAMS:
            seen[name].add(supervisor.state(name))
        return False

    assert demo.cli("postgres", "stop").returncode == 0
    stopped = time.monotonic()
    _wait_for(observe, OUTAGE_S, 0.5)
    restarted_at = datetime.now(UTC)
    started = demo.cli("postgres", "start")
    assert started.returncode == 0, started.stderr
    back = time.monotonic()

    def recovered() -> bool:
        observe()
        return all(supervisor.state(name) == "RUNNING" for name in PROGRAMS) and _heartbeating_since(demo, restarted_at)

    ok = _wait_for(recovered, RECOVERY_DEADLINE_S, 1.0)
    states = {name: sorted(states) for name, states in seen.items()}
    print(
        f"PostgreSQL down {back - stopped:.0f}s; every Airflow program RUNNING and heartbeating "
        f"{time.monotonic() - back:.1f}s after it was back; states seen: {states}"
    )
    assert ok, (states, {name: supervisor.log_tail(name, 5) for name in AIRFLOW})
    assert not any("FATAL" in states for states in seen.values()), states


def test_demo_down_stops_everything(demo: Demo) -> None:
    processes = marked_processes(demo.home)
    assert set(processes.values()) == set(PROGRAMS), processes
    pg_port = json.loads((demo.home / "postgres" / "state.json").read_text())["port"]
    ports = [int(demo.env[f"CRYPTO_INSIGHTS_{s}_PORT"]) for s in ("AIRFLOW", "SUPERSET", "EXCHANGE")] + [pg_port]
    started = time.monotonic()
    stopped = demo.cli("demo", "down", timeout=300)
    assert stopped.returncode == 0, stopped.stderr
    print(f"demo down in {time.monotonic() - started:.1f}s: {stopped.stdout.strip()}")
    assert not marked_processes(demo.home), f"still running after demo down: {marked_processes(demo.home)}"
    assert not [pid for pid in processes if alive(pid)]
    assert not Supervisor(demo.home).is_running()
    conf = str(demo.home.resolve() / "supervisor" / "supervisord.conf").encode()
    daemons = [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline_has(p, conf)]
    assert not daemons, f"supervisord still running: {daemons}"
    assert not [port for port in ports if port_listening(port)], "a demo port is still listened on"
    assert "running" not in demo.cli("demo", "status").stdout


def _cmdline_has(proc: Path, needle: bytes) -> bool:
    try:
        return needle in (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False

"""The soak's own demo stack: a home, ports and a 10-coin config of its own, and the hands that break it.

Everything goes through what a user has: `crypto-insights demo up|down`, `crypto-insights postgres stop|start`,
and the demo's supervisord (`crypto_insights.stack.supervisor.Supervisor`) to stop, start or find a program.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from crypto_insights.paths import DEFAULT_CONFIG_PATH
from crypto_insights.stack.programs import DEMO_PROGRAMS

BIN = Path(sys.executable).parent
CLI = str(BIN / "crypto-insights")
PROGRAMS = DEMO_PROGRAMS
SOAK_COINS = 10
# Coins added to the soak's config when the shipped one has fewer than SOAK_COINS (simulated books, modest depth).
EXTRA_SYMBOLS: dict[str, dict[str, Any]] = {
    "XRP-USD": {
        "price_min": 0.05,
        "price_max": 50,
        "whale_floor_usd": 100000,
        "quote_increment": "0.0001",
        "base_increment": "0.000001",
        "simulated": {"start_price": "2.3000", "levels_per_side": 4000},
    },
    "LTC-USD": {
        "price_min": 10,
        "price_max": 2000,
        "whale_floor_usd": 100000,
        "quote_increment": "0.01",
        "base_increment": "0.00000001",
        "simulated": {"start_price": "85.00", "levels_per_side": 3000},
    },
    "AVAX-USD": {
        "price_min": 1,
        "price_max": 1000,
        "whale_floor_usd": 100000,
        "quote_increment": "0.01",
        "base_increment": "0.00000001",
        "simulated": {"start_price": "22.00", "levels_per_side": 3000},
    },
    "LINK-USD": {
        "price_min": 1,
        "price_max": 1000,
        "whale_floor_usd": 100000,
        "quote_increment": "0.001",
        "base_increment": "0.01",
        "simulated": {"start_price": "14.000", "levels_per_side": 3000},
    },
    "DOT-USD": {
        "price_min": 0.5,
        "price_max": 500,
        "whale_floor_usd": 100000,
        "quote_increment": "0.001",
        "base_increment": "0.01",
        "simulated": {"start_price": "4.000", "levels_per_side": 3000},
    },
}


def free_port() -> int:
    from crypto_insights.postgres.server import free_port as pick

    return pick()


def write_config(home: Path, coins: int = SOAK_COINS) -> Path:
    """The shipped config with at least `coins` symbols (the first `coins` of it, then EXTRA_SYMBOLS)."""
    data = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    symbols: dict[str, Any] = dict(list(data["symbols"].items())[:coins])
    for product_id, spec in EXTRA_SYMBOLS.items():
        if len(symbols) >= coins:
            break
        symbols.setdefault(product_id, spec)
    data["symbols"] = symbols
    path = home / "crypto_insights.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def soak_environment(home: Path, chaos: float, config: Path) -> dict[str, str]:
    """A user's shell (none of the caller's Airflow or project settings) pointed at the soak's home and ports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRYPTO_INSIGHTS_"))}
    env.pop("COINBASE_API_URL", None)
    env.update(
        {
            "CRYPTO_INSIGHTS_HOME": str(home),
            "CRYPTO_INSIGHTS_CONFIG": str(config),
            "CRYPTO_INSIGHTS_FORCE_OFFLINE": "1",
            "CRYPTO_INSIGHTS_EXCHANGE_CHAOS": str(chaos),
            # the exchange's stats (faults served) go into the report
            "CRYPTO_INSIGHTS_EXCHANGE_CONTROL": "1",
            "CRYPTO_INSIGHTS_AIRFLOW_PORT": str(free_port()),
            "CRYPTO_INSIGHTS_SUPERSET_PORT": str(free_port()),
            "CRYPTO_INSIGHTS_EXCHANGE_PORT": str(free_port()),
        }
    )
    return env


def make_home() -> Path:
    home = Path(tempfile.mkdtemp(prefix="crypto-insights-soak-"))
    home.chmod(0o755)  # PostgreSQL runs as nobody when we are root
    return home


def remove_home(home: Path) -> None:
    shutil.rmtree(home, ignore_errors=True)


def cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def demo_up(env: dict[str, str], dashboards: bool = True, timeout_s: float = 1200) -> str:
    """Start the stack as `make demo` does; without `dashboards`, everything but Superset (which is not on the
    data path and costs minutes of a 2-core machine to provision). Returns what it printed."""
    if dashboards:
        done = cli(env, "demo", "up", timeout=timeout_s)
        if done.returncode != 0:  # on a busy machine a program may miss its start-up deadline: `up` is idempotent
            print(f"`demo up` failed, trying once more:\n{(done.stdout + done.stderr)[-1500:]}", flush=True)
            done = cli(env, "demo", "up", timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(f"`crypto-insights demo up` failed:\n{(done.stdout + done.stderr)[-5000:]}")
        return done.stdout
    done = subprocess.run(
        [sys.executable, "-c", _UP_WITHOUT_DASHBOARDS], env=env, capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise RuntimeError(f"starting the stack without Superset failed:\n{(done.stdout + done.stderr)[-5000:]}")
    return done.stdout


# `demo up` up to (not including) the dashboards, with the demo's own functions.
_UP_WITHOUT_DASHBOARDS = """
import os, psycopg2
from crypto_insights.config import API_URL_ENV, load_settings
from crypto_insights.landing.migrations import migrate
from crypto_insights.postgres.cli import start_and_bootstrap
from crypto_insights.postgres.connection import endpoint
from crypto_insights.stack.airflow_env import airflow_environment
from crypto_insights.stack.demo import start_airflow, start_source
from crypto_insights.stack.supervisor import Supervisor
load_settings()
start_and_bootstrap()
conn = psycopg2.connect(**endpoint("loader").connect_kwargs())
migrate(conn)
conn.close()
supervisor = Supervisor()
supervisor.start()
env = dict(os.environ)
env[API_URL_ENV] = start_source(supervisor, env)
start_airflow(supervisor, airflow_environment(env))
"""


def demo_down(env: dict[str, str]) -> str:
    done = cli(env, "demo", "down", timeout=600)
    return done.stdout + done.stderr


class ProgramControl:
    """Find, kill, stop and start the demo's programs through its supervisor (supervisord)."""

    def __init__(self, home: Path) -> None:
        from crypto_insights.stack.supervisor import Supervisor

        self.supervisor = Supervisor(home)

    def programs(self) -> list[str]:
        return self.supervisor.programs()

    def pid(self, name: str) -> int | None:
        return self.supervisor.pid(name)

    def status(self, name: str) -> tuple[str, int | None]:
        """supervisord's state name and the program's pid (None when it has none) in one call."""
        info = self.supervisor.info(name)
        if info is None:
            return "STOPPED", None
        return str(info["statename"]), int(info["pid"]) or None

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int | None:
        """Signal the program and every process it started (its process group), as a crash would end them."""
        pid = self.pid(name)
        if pid is None:
            return None
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return None
        return pid

    def stop(self, name: str) -> None:
        self.supervisor.stop(name)

    def start(self, name: str) -> None:
        self.supervisor.start(name)


def postgres(env: dict[str, str], action: str) -> str:
    """`crypto-insights postgres stop|start` on the soak's home."""
    done = cli(env, "postgres", action, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"`crypto-insights postgres {action}` failed: {(done.stdout + done.stderr)[-2000:]}")
    return done.stdout.strip()

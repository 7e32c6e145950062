"""What every benchmark needs: an isolated PostgreSQL, the offline exchange as a process, and timing helpers."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from crypto_insights.stack.ports import is_free

BIN = Path(sys.executable).parent


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def isolated_home() -> Iterator[Path]:
    """A CRYPTO_INSIGHTS_HOME of the benchmark's own, with its embedded PostgreSQL started."""
    from crypto_insights.postgres.cli import start_and_bootstrap
    from crypto_insights.postgres.server import EmbeddedPostgres

    home = Path(tempfile.mkdtemp(prefix="crypto-insights-bench-"))
    home.chmod(0o755)
    previous = os.environ.get("CRYPTO_INSIGHTS_HOME")
    os.environ["CRYPTO_INSIGHTS_HOME"] = str(home)
    try:
        start_and_bootstrap()
        yield home
    finally:
        EmbeddedPostgres().destroy()
        if previous is None:
            os.environ.pop("CRYPTO_INSIGHTS_HOME", None)
        else:
            os.environ["CRYPTO_INSIGHTS_HOME"] = previous


@contextmanager
def offline_exchange(port: int = 18765) -> Iterator[str]:
    while not is_free(port):
        port += 1
    proc = subprocess.Popen(
        [str(BIN / "crypto-insights"), "exchange", "--port", str(port), "--rate-limit", "1000", "--burst", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/products", headers={"User-Agent": "bench"}, timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def fetch_bodies(url: str, product_id: str, count: int) -> list[bytes]:
    session = requests.Session()
    session.headers["User-Agent"] = "crypto-insights-bench"
    return [
        session.get(f"{url}/products/{product_id}/book", params={"level": 2}, timeout=30).content for _ in range(count)
    ]

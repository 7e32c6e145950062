"""The Superset web server: gunicorn from Superset's venv on 127.0.0.1, in the background (demo) or foreground.

Background: a `ManagedProcess` ("superset") in its own process group, with a pid file and a log under `.local/`,
so `crypto-insights demo down` / `superset stop` end the master and its workers together.
Size: 2 workers x 4 threads by default (~0.5 GB); ``CRYPTO_INSIGHTS_SUPERSET_WORKERS`` changes the workers.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import requests

from crypto_insights.dashboards.environment import superset_bin, superset_environment, superset_home
from crypto_insights.stack.ports import is_free, port
from crypto_insights.stack.processes import ManagedProcess

log = logging.getLogger(__name__)

SUPERSET = ManagedProcess("superset")
WORKERS_ENV = "CRYPTO_INSIGHTS_SUPERSET_WORKERS"
THREADS = 4


class SupersetStartError(RuntimeError):
    pass


@dataclass(frozen=True)
class Started:
    url: str
    pid: int
    seconds: float  # from spawn until /health answered


def gunicorn_argv(bind_port: int, *, host: str = "127.0.0.1", workers: int | None = None) -> list[str]:
    workers = workers or int(os.environ.get(WORKERS_ENV, "2"))
    return [
        str(superset_bin("gunicorn")),
        "--bind", f"{host}:{bind_port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(THREADS),
        "--timeout", "60",
        "--graceful-timeout", "10",
        "--limit-request-line", "0",
        "--limit-request-field_size", "0",
        "--access-logfile", "-",
        "--error-logfile", "-",
        "superset.app:create_app()",
    ]  # fmt: skip


def base_url(bind_port: int | None = None) -> str:
    return f"http://127.0.0.1:{bind_port or port('superset')}"


def wait_healthy(url: str, process: ManagedProcess | None = None, timeout_s: float = 120.0) -> float:
    """Poll `/health` until it answers 200; returns the seconds waited. Fails early when the process died."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        if process is not None and not process.is_running():
            raise SupersetStartError(f"Superset exited while starting; last lines of {process.log_file}:\n"
                                     f"{process.log_tail()}")
        time.sleep(0.25)
    tail = process.log_tail() if process else ""
    raise SupersetStartError(f"Superset did not answer {url}/health within {timeout_s:.0f}s\n{tail}")


def start(*, bind_port: int | None = None, workers: int | None = None, env: dict[str, str] | None = None,
          wait: bool = True, timeout_s: float = 120.0) -> Started:
    """Start the web server in the background (no-op when it already runs); waits for /health unless told not."""
    bind_port = bind_port or port("superset")
    url = base_url(bind_port)
    if SUPERSET.is_running():
        return Started(url, SUPERSET.pid() or 0, 0.0)
    if not is_free(bind_port):
        raise SupersetStartError(f"port {bind_port} is taken: set CRYPTO_INSIGHTS_SUPERSET_PORT to a free one")
    spawned = time.monotonic()
    pid = SUPERSET.start(gunicorn_argv(bind_port, workers=workers), superset_environment(env), cwd=superset_home())
    log.info("Superset starting on %s (pid %s, log %s)", url, pid, SUPERSET.log_file)
    if wait:
        wait_healthy(url, SUPERSET, timeout_s)
    return Started(url, pid, round(time.monotonic() - spawned, 3))


def stop() -> bool:
    """Stop the background web server and its workers; False when it was not running."""
    return SUPERSET.stop()


def serve(*, host: str = "0.0.0.0", bind_port: int = 8088, workers: int | None = None) -> None:
    """Replace this process with gunicorn in the foreground (containers: the orchestrator supervises it)."""
    argv = gunicorn_argv(bind_port, host=host, workers=workers)
    os.execve(argv[0], argv, superset_environment())

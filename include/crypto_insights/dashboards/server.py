"""The Superset web server: gunicorn from Superset's venv on 127.0.0.1, in the background (demo) or foreground.

Background: the program "superset" of the home's supervisord (`crypto_insights.stack.supervisor`), which restarts
it when it dies, stops the master and its workers together and rotates its log (`.local/logs/superset.log`).
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
from crypto_insights.stack.supervisor import Program, Supervisor

log = logging.getLogger(__name__)

SUPERSET = "superset"  # the supervised program's name
UP = ("STARTING", "RUNNING")
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
        "--bind",
        f"{host}:{bind_port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(THREADS),
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
        "--limit-request-line",
        "0",
        "--limit-request-field_size",
        "0",
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "superset.app:create_app()",
    ]


def base_url(bind_port: int | None = None) -> str:
    return f"http://127.0.0.1:{bind_port or port('superset')}"


def superset_program(bind_port: int, *, workers: int | None = None, env: dict[str, str] | None = None) -> Program:
    """gunicorn as a supervised program: started last and stopped first of the demo's (priority 300)."""
    return Program(
        tuple(gunicorn_argv(bind_port, workers=workers)),
        superset_environment(env),
        cwd=superset_home(),
        startsecs=5,
        stopwaitsecs=15,
        priority=300,
    )


def wait_healthy(url: str, supervisor: Supervisor | None = None, timeout_s: float = 120.0) -> float:
    """Poll `/health` until it answers 200; returns the seconds waited. Fails early when supervisord saw the
    web server exit while starting."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        if supervisor is not None and (state := supervisor.state(SUPERSET)) not in UP:
            raise SupersetStartError(
                f"Superset exited while starting ({state}); last lines of "
                f"{supervisor.log_file(SUPERSET)}:\n{supervisor.log_tail(SUPERSET)}"
            )
        time.sleep(0.25)
    tail = supervisor.log_tail(SUPERSET) if supervisor else ""
    raise SupersetStartError(f"Superset did not answer {url}/health within {timeout_s:.0f}s\n{tail}")


def start(
    *,
    bind_port: int | None = None,
    workers: int | None = None,
    env: dict[str, str] | None = None,
    wait: bool = True,
    timeout_s: float = 120.0,
) -> Started:
    """Start the web server under supervisord (no-op when it already runs so); waits for /health unless told not.
    A start that fails is undone: supervisord would otherwise retry it for ever."""
    bind_port = bind_port or port("superset")
    url = base_url(bind_port)
    supervisor = Supervisor()
    if supervisor.state(SUPERSET) not in UP and not is_free(bind_port):
        raise SupersetStartError(f"port {bind_port} is taken: set CRYPTO_INSIGHTS_SUPERSET_PORT to a free one")
    spawned = time.monotonic()
    restarted = SUPERSET in supervisor.ensure({SUPERSET: superset_program(bind_port, workers=workers, env=env)})
    if not restarted and supervisor.state(SUPERSET) == "RUNNING":  # already up, as asked
        return Started(url, supervisor.pid(SUPERSET) or 0, 0.0)
    log.info("Superset starting on %s (pid %s, log %s)", url, supervisor.pid(SUPERSET), supervisor.log_file(SUPERSET))
    if wait:
        try:
            wait_healthy(url, supervisor, timeout_s)
        except SupersetStartError:
            stop()
            raise
    return Started(url, supervisor.pid(SUPERSET) or 0, round(time.monotonic() - spawned, 3))


def stop() -> bool:
    """Stop the web server and its workers and drop it from supervisord, which exits when it has no program
    left (a Superset started alone, as in the tests); False when it was not running."""
    supervisor = Supervisor()
    was_running = supervisor.state(SUPERSET) != "STOPPED"
    supervisor.remove(SUPERSET)
    if not supervisor.programs():
        supervisor.shutdown()
    return was_running


def serve(*, host: str = "0.0.0.0", bind_port: int = 8088, workers: int | None = None) -> None:
    """Replace this process with gunicorn in the foreground (containers: the orchestrator supervises it)."""
    argv = gunicorn_argv(bind_port, host=host, workers=workers)
    os.execve(argv[0], argv, superset_environment())

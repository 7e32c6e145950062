"""The demo's supervisor on small real programs (seconds, no Airflow): a program whose child escapes its process
group and holds a port, as Airflow's `serve-logs` did, is `kill -9`ed; supervisord restarts it, the launcher ends
the orphan so the port is bound again, and `stop_all` leaves nothing behind. The daemon has no TCP listener."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.e2e.demo_helpers import alive, listeners, marked_processes

from crypto_insights.postgres.server import free_port
from crypto_insights.stack.supervisor import Program, Supervisor

pytestmark = pytest.mark.e2e

# The parent starts a child in a session of its own (out of reach of supervisord's group signals) that binds the
# port and sleeps; the parent sleeps too. A child that cannot bind (the port still held) dies, and so the test fails.
HOLDER = (
    "import subprocess, sys, time; "
    'child = \'import socket, sys, time; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); '
    "time.sleep(3600)'; "
    "subprocess.Popen([sys.executable, '-c', child, sys.argv[1]], start_new_session=True); time.sleep(3600)"
)


def _wait(check: Callable[[], object], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return bool(check())


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    home = Path(tempfile.mkdtemp(prefix="crypto-insights-sv-"))
    sv = Supervisor(home)
    try:
        yield sv
    finally:
        sv.stop_all()
        shutil.rmtree(home, ignore_errors=True)


def _holder(port: int, **env: str) -> Program:
    return Program(
        (sys.executable, "-c", HOLDER, str(port)), {"PATH": os.environ["PATH"], **env}, startsecs=1, stopwaitsecs=5
    )


def _port_owner(home: Path, port: int) -> int | None:
    for pid, addresses in listeners(marked_processes(home)).items():
        if f"127.0.0.1:{port}" in addresses:
            return pid
    return None


def test_a_multi_line_argument_is_refused(supervisor: Supervisor) -> None:
    with pytest.raises(ValueError, match="line break"):
        supervisor.ensure({"bad": Program((sys.executable, "-c", "import os\nprint(1)"))})
    assert supervisor.programs() == []


def test_start_is_idempotent_and_listens_on_a_unix_socket_only(supervisor: Supervisor) -> None:
    pid = supervisor.start()
    assert supervisor.start() == pid and supervisor.is_running()
    assert supervisor.layout.socket.is_socket()
    assert not listeners([pid]), "supervisord must not listen on TCP"
    assert supervisor.state("nothing") == "STOPPED" and supervisor.pid("nothing") is None


def test_kill_9_restarts_the_program_and_its_orphan_is_ended(supervisor: Supervisor) -> None:
    port = free_port()
    assert supervisor.ensure({"holder": _holder(port)}) == ["holder"]
    assert _wait(lambda: supervisor.state("holder") == "RUNNING" and _port_owner(supervisor.home, port))
    old, orphan = supervisor.pid("holder"), _port_owner(supervisor.home, port)
    assert old and orphan and orphan != old
    assert supervisor.ensure({"holder": _holder(port)}) == []  # unchanged: left running

    started = time.monotonic()
    os.kill(old, signal.SIGKILL)
    assert _wait(lambda: supervisor.state("holder") == "RUNNING" and supervisor.pid("holder") != old)
    assert _wait(lambda: _port_owner(supervisor.home, port) not in (None, orphan)), "the port was not bound again"
    print(f"kill -9 -> RUNNING and the port bound again in {time.monotonic() - started:.1f}s")
    assert not alive(orphan), "the orphan of the killed run survived"


def test_a_changed_environment_restarts_the_program(supervisor: Supervisor) -> None:
    port = free_port()
    supervisor.ensure({"holder": _holder(port, COLOUR="blue")})
    assert _wait(lambda: supervisor.state("holder") == "RUNNING")
    old = supervisor.pid("holder")
    assert supervisor.ensure({"holder": _holder(port, COLOUR="green")}) == ["holder"]
    assert _wait(lambda: supervisor.state("holder") == "RUNNING" and supervisor.pid("holder") != old)
    environ = Path(f"/proc/{supervisor.pid('holder')}/environ").read_bytes().split(b"\0")
    assert b"COLOUR=green" in environ
    assert len(list(supervisor.layout.programs_dir.glob("holder.*.env.json"))) == 1  # the old one pruned


def test_a_program_that_cannot_start_keeps_retrying_and_comes_up(supervisor: Supervisor) -> None:
    """As an Airflow component whose database is down: it exits at once, again and again, and must not end FATAL
    (supervisord's default gives up after 3 tries); once what it needs is there, it runs."""
    needed = supervisor.home / "database-is-up"
    waits = f"import os, sys, time; sys.exit(1) if not os.path.exists({str(needed)!r}) else time.sleep(3600)"
    supervisor.ensure({"waiter": Program((sys.executable, "-c", waits), {"PATH": os.environ["PATH"]}, startsecs=1)})
    seen = set()
    deadline = time.monotonic() + 8  # past the 4th failure, when supervisord's default (3 retries) gives up
    while time.monotonic() < deadline:
        seen.add(supervisor.state("waiter"))
        time.sleep(0.1)
    assert "BACKOFF" in seen and "FATAL" not in seen and "RUNNING" not in seen, seen
    needed.touch()
    assert _wait(lambda: supervisor.state("waiter") == "RUNNING", 30), supervisor.state("waiter")


def test_a_new_daemon_ends_the_orphans_of_a_killed_one(supervisor: Supervisor) -> None:
    supervisor.ensure({"holder": _holder(free_port())})
    assert _wait(lambda: len(marked_processes(supervisor.home)) == 2)
    orphans = set(marked_processes(supervisor.home))
    os.kill(supervisor.start(), signal.SIGKILL)
    assert _wait(lambda: not supervisor.is_running())
    assert all(alive(pid) for pid in orphans)  # supervisord's death does not end its programs
    supervisor.start()
    assert not any(alive(pid) for pid in orphans)
    assert _wait(lambda: supervisor.state("holder") == "RUNNING")  # its config is still there: started again


def test_stop_all_leaves_nothing_behind(supervisor: Supervisor) -> None:
    port = free_port()
    supervisor.ensure({"one": _holder(port), "two": _holder(free_port())})
    assert _wait(lambda: len(marked_processes(supervisor.home)) == 4)  # two parents, two escaped children
    daemon = supervisor.start()
    escaped = set(marked_processes(supervisor.home)) - {supervisor.pid("one"), supervisor.pid("two")}
    assert len(escaped) == 2
    assert set(supervisor.stop_all()) == escaped  # supervisord stopped the programs' groups; the sweep the rest
    assert not marked_processes(supervisor.home) and not alive(daemon) and not supervisor.is_running()
    assert supervisor.state("one") == "STOPPED"

"""Which processes belong to the demo: every supervised program runs with an environment marker,
``CRYPTO_INSIGHTS_PROGRAM=<program>@<home>``, that its children inherit (Airflow's task and trigger runners,
gunicorn's workers, dbt). Reading ``/proc/<pid>/environ`` finds them all, orphans included, whatever their pid;
a pid file cannot (pids are recycled, and an orphan's pid was never written anywhere).

Standard library only: the launcher imports this before it execs a program, on every (re)start.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

MARKER_ENV = "CRYPTO_INSIGHTS_PROGRAM"
PROC = Path("/proc")


def marker(program: str, home: Path | str) -> str:
    """The marker's value for one program of one home (`home` is the resolved CRYPTO_INSIGHTS_HOME)."""
    return f"{program}@{home}"


def _environ(pid: int) -> list[bytes]:
    try:
        return (PROC / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:  # gone, a kernel thread, or not ours to read
        return []


def _ancestors(pid: int) -> set[int]:
    """`pid` and its parents: a sweep never signals the process that runs it, nor what started that."""
    seen: set[int] = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return seen


def marked_pids(matches: Callable[[str], bool]) -> list[int]:
    """Pids whose environment holds a marker whose value `matches` (this process and its ancestors excluded)."""
    prefix = f"{MARKER_ENV}=".encode()
    spared = _ancestors(os.getpid())
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        for item in _environ(int(entry.name)):
            if item.startswith(prefix) and matches(item[len(prefix) :].decode(errors="replace")):
                found.append(int(entry.name))
                break
    return found


def program_pids(program: str, home: Path | str) -> list[int]:
    """Processes of one program of one home: its main process, its children, and orphans of earlier runs."""
    wanted = marker(program, home)
    return marked_pids(lambda value: value == wanted)


def home_pids(home: Path | str) -> list[int]:
    """Processes of every program of one home."""
    suffix = f"@{home}"
    return marked_pids(lambda value: value.endswith(suffix))


def _alive(pid: int) -> bool:
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is dead, only not yet reaped by its parent


def terminate(pids: Iterable[int], grace_s: float = 10.0) -> list[int]:
    """SIGTERM each pid, SIGKILL those alive after `grace_s`; returns the pids that were signalled."""
    signalled = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
            signalled.append(pid)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in signalled):
        time.sleep(0.1)
    for pid in signalled:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in signalled):
        time.sleep(0.05)
    return signalled

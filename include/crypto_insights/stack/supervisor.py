"""The demo's process supervisor: one supervisord per home, driven over XML-RPC on its unix socket (no TCP).

supervisord restarts what dies (with a back-off, forever: a PostgreSQL outage is ridden out), stops each program
with its whole process group, and rotates the programs' logs under ``<home>/logs``. Every program runs through
`crypto_insights.stack.launcher`, which ends what an earlier run of the same program left behind before it
execs the real command (see process_marks). The daemon is recognised by its socket answering and by its
`/proc/<pid>/cmdline` naming this home's config, never by a pid file (docs/architecture.md#process-supervision).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import Faults, SupervisorTransport

from crypto_insights.paths import local_dir
from crypto_insights.stack.process_marks import PROC, home_pids, terminate
from crypto_insights.stack.supervisor_conf import (
    Layout,
    Program,
    prune_env_files,
    render_daemon_conf,
    write_program,
)

__all__ = ["Program", "Supervisor", "SupervisorError"]

# The daemon's own environment; each program gets exactly the environment its `Program` carries.
DAEMON_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME")
STOPPED = "STOPPED"


class SupervisorError(RuntimeError):
    pass


class Supervisor:
    """supervisord for one home (default: `crypto_insights.paths.local_dir()`)."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = Path(home or local_dir()).resolve()
        self.layout = Layout(self.home)

    # -- the daemon ------------------------------------------------------------------------------------------
    def _rpc(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.layout.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def _names_our_conf(self, pid: int) -> bool:
        try:
            argv = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.layout.conf).encode() in argv

    def daemon_pid(self) -> int | None:
        """supervisord's pid, when its socket answers and that process runs this home's config."""
        if not self.layout.socket.exists():
            return None
        try:
            pid = int(self._rpc().supervisor.getPID())
        except (OSError, xmlrpc.client.Error):
            return None
        return pid if self._names_our_conf(pid) else None

    def is_running(self) -> bool:
        return self.daemon_pid() is not None

    def _unanswering_daemons(self) -> list[int]:
        """supervisord processes of this home's config that do not answer on the socket (hung, half-started)."""
        answering = self.daemon_pid()
        return [
            int(p.name)
            for p in PROC.iterdir()
            if p.name.isdigit() and int(p.name) != answering and self._names_our_conf(int(p.name))
        ]

    def start(self, name: str | None = None, timeout_s: float = 30.0) -> int:
        """Start supervisord as a daemon unless it runs (idempotent); returns its pid. With a program's name, also
        start that (configured) program unless it runs."""
        pid = self.daemon_pid() or self._start_daemon(timeout_s)
        if name is not None:
            if name not in self.programs():
                raise SupervisorError(f"no program {name!r} in {self.layout.programs_dir}")
            self._call(self._rpc().supervisor.startProcess, name, False)
        return pid

    def stop(self, name: str) -> None:
        """Stop one program with its process group; it stays configured (STOPPED) until started again."""
        if self.is_running():
            self._call(self._rpc().supervisor.stopProcess, name, True)

    def _start_daemon(self, timeout_s: float) -> int:
        terminate(self._unanswering_daemons())
        # With no supervisord of this home, any process carrying its marker is an orphan of an earlier one (killed,
        # or hung above): end it now, before a port check or a program's start trips over it.
        terminate(home_pids(self.home))
        self.layout.programs_dir.mkdir(parents=True, exist_ok=True)
        self.layout.logs_dir.mkdir(parents=True, exist_ok=True)
        self.layout.conf.write_text(render_daemon_conf(self.layout))
        env = {k: os.environ[k] for k in DAEMON_ENV_KEYS if k in os.environ}
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.layout.conf)],
            env=env,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if result.returncode != 0:
            if (pid := self.daemon_pid()) is not None:  # another command started it at the same moment
                return pid
            raise SupervisorError(f"supervisord did not start: {(result.stderr or result.stdout).strip()}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (pid := self.daemon_pid()) is not None:
                return pid
            time.sleep(0.1)
        raise SupervisorError(
            f"supervisord did not answer on {self.layout.socket} within {timeout_s:.0f}s; "
            f"see {self.layout.log_file('supervisord')}"
        )

    def shutdown(self, timeout_s: float = 180.0) -> bool:
        """Stop every program (each with its process group) and the daemon; False when it was not running."""
        pid = self.daemon_pid()
        if pid is None:
            terminate(self._unanswering_daemons())
            return False
        try:
            self._rpc().supervisor.shutdown()
        except (OSError, xmlrpc.client.Error):
            pass  # it may close the connection as it goes
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._names_our_conf(pid):
            time.sleep(0.2)
        terminate([pid] if self._names_our_conf(pid) else [])
        return True

    def stop_all(self) -> list[int]:
        """`demo down`: shut supervisord down, then end any process still carrying this home's marker (what
        escaped its process group); returns the pids of the latter."""
        self.shutdown()
        return terminate(home_pids(self.home))

    # -- programs --------------------------------------------------------------------------------------------
    def ensure(self, programs: Mapping[str, Program]) -> list[str]:
        """Write these programs' sections (others stay as they are) and apply them like `supervisorctl update`:
        new ones are added and started, changed ones restarted, stopped ones started. Returns the names that
        were (re)started."""
        self.start()
        for name, program in programs.items():
            write_program(self.layout, name, program)
        started = self._update()
        rpc = self._rpc()
        for name in programs:  # a group just added is STOPPED until supervisord's next tick: spawn it now
            if self.state(name) in ("STOPPED", "EXITED", "FATAL"):
                self._call(rpc.supervisor.startProcess, name, False)
                if name not in started:
                    started.append(name)
        prune_env_files(self.layout)
        return started

    def remove(self, name: str) -> bool:
        """Stop one program (with its process group) and drop it from the config; False when it was not there."""
        conf = self.layout.program_conf(name)
        present = conf.exists()
        conf.unlink(missing_ok=True)
        if self.is_running():
            self._update()
        prune_env_files(self.layout)
        return present

    def _update(self) -> list[str]:
        rpc = self._rpc()
        [[added, changed, removed]] = rpc.supervisor.reloadConfig()
        for name in [*removed, *changed]:
            self._call(rpc.supervisor.stopProcessGroup, name, True)
            self._call(rpc.supervisor.removeProcessGroup, name)
        for name in [*added, *changed]:
            self._call(rpc.supervisor.addProcessGroup, name)  # starts it: autostart=true
        return [*added, *changed]

    @staticmethod
    def _call(method: Any, *args: Any) -> None:
        """An RPC whose benign faults (already started, not running, ...) are no errors here."""
        try:
            method(*args)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode not in (
                Faults.ALREADY_STARTED,
                Faults.NOT_RUNNING,
                Faults.ALREADY_ADDED,
                Faults.BAD_NAME,
            ):
                raise

    def programs(self) -> list[str]:
        """The configured programs' names."""
        return sorted(p.stem for p in self.layout.programs_dir.glob("*.conf"))

    def info(self, name: str) -> dict[str, Any] | None:
        """supervisord's record of one program (state, pid, description ...); None when it is not supervised."""
        if not self.layout.socket.exists():
            return None
        try:
            return dict(self._rpc().supervisor.getProcessInfo(name))
        except (OSError, xmlrpc.client.Error):
            return None

    def state(self, name: str) -> str:
        """supervisord's state name (RUNNING, STARTING, BACKOFF, EXITED, FATAL ...); STOPPED when not supervised."""
        info = self.info(name)
        return str(info["statename"]) if info else STOPPED

    def pid(self, name: str) -> int | None:
        """The program's main pid (the real process: the launcher execs it), None when it has none."""
        info = self.info(name)
        return (int(info["pid"]) or None) if info else None

    def log_file(self, name: str) -> Path:
        return self.layout.log_file(name)

    def log_tail(self, name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

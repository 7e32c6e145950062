"""supervisord's configuration for one home, rendered from `Program`s (docs/architecture.md#process-supervision).

Layout under ``<home>/supervisor/``: ``supervisord.conf`` (the daemon, its unix socket, an include of
``programs/*.conf``), one ``programs/<name>.conf`` per program and, beside it, the program's environment as
``<name>.<digest>.env.json`` (0600). The digest is in the program's command line, so a changed environment is a
changed program for supervisord's `update`, which restarts it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crypto_insights.paths import REPO_ROOT
from crypto_insights.stack.process_marks import MARKER_ENV, marker

LOG_MAXBYTES = "20MB"  # per program log file; with the backups, the demo's log rotation
LOG_BACKUPS = 5
# supervisord waits 1 s more after each failed start (1, 2, 3 ... s) and gives up (FATAL) past startretries: this
# many keeps a program retrying through any outage of what it needs (PostgreSQL), never ending FATAL.
START_RETRIES = 1_000_000
# Shell bookkeeping that differs between two shells and would otherwise restart every program on each `demo up`.
VOLATILE_ENV = frozenset({"_", "OLDPWD", "PWD", "SHLVL"})
NAME_RE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Program:
    """One supervised process: its command, its whole environment (as for `subprocess.Popen(env=...)`) and how
    supervisord treats it. `startsecs`: how long it must stay up to count as started; `priority`: lower starts
    first and stops last."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path = REPO_ROOT
    startsecs: int = 5
    stopwaitsecs: int = 20
    priority: int = 500


@dataclass(frozen=True)
class Layout:
    """Where one home's supervisord keeps its files."""

    home: Path

    @property
    def dir(self) -> Path:
        return self.home / "supervisor"

    @property
    def conf(self) -> Path:
        return self.dir / "supervisord.conf"

    @property
    def programs_dir(self) -> Path:
        return self.dir / "programs"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def socket(self) -> Path:
        """A unix socket path must fit in 108 bytes: a long home gets one under /tmp, named after the home."""
        path = self.dir / "supervisord.sock"
        if len(str(path)) < 100:
            return path
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:16]
        return Path("/tmp") / f"crypto-insights-supervisord-{digest}.sock"

    def log_file(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def program_conf(self, name: str) -> Path:
        return self.programs_dir / f"{name}.conf"


def _escape(value: str) -> str:
    """supervisord expands `%(name)s` in its values: a literal % is written %%."""
    return value.replace("%", "%%")


def _user_line() -> str:
    """As root, say so: supervisord otherwise logs a CRIT line about privileges it was never asked to drop."""
    return "\nuser=root" if os.geteuid() == 0 else ""


def render_daemon_conf(layout: Layout) -> str:
    return f"""; Written by crypto_insights.stack.supervisor_conf; do not edit.
; See docs/architecture.md#process-supervision.
[unix_http_server]
file={_escape(str(layout.socket))}
chmod=0700

[supervisord]
logfile={_escape(str(layout.log_file("supervisord")))}
logfile_maxbytes={LOG_MAXBYTES}
logfile_backups={LOG_BACKUPS}
pidfile={_escape(str(layout.dir / "supervisord.pid"))}
childlogdir={_escape(str(layout.logs_dir))}
directory={_escape(str(layout.home))}
identifier=crypto-insights{_user_line()}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{_escape(str(layout.socket))}

[include]
files = programs/*.conf
"""


def program_environment(name: str, program: Program, home: Path) -> dict[str, str]:
    env = {k: v for k, v in program.env.items() if k not in VOLATILE_ENV}
    env[MARKER_ENV] = marker(name, home)
    # setproctitle (Airflow's api-server, executors and task runners) would overwrite /proc/<pid>/environ, and the
    # marker with it, to make room for long titles; with SPT_NOENV it keeps the environment (titles get shorter).
    env["SPT_NOENV"] = "1"
    return env


def env_file(layout: Layout, name: str, env: Mapping[str, str]) -> Path:
    digest = hashlib.sha256(json.dumps(dict(env), sort_keys=True).encode()).hexdigest()[:12]
    return layout.programs_dir / f"{name}.{digest}.env.json"


def render_program_conf(layout: Layout, name: str, program: Program, environment: Path) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"program name {name!r}: letters, digits, '-' and '_' only")
    if any("\n" in arg or "\r" in arg or "\0" in arg for arg in program.argv):
        raise ValueError(f"{name}: an argument with a line break cannot go into supervisord's command line")
    command = [
        sys.executable,
        "-m",
        "crypto_insights.stack.launcher",
        "--env-file",
        str(environment),
        "--",
        *program.argv,
    ]
    log = _escape(str(layout.log_file(name)))
    return f"""; Written by crypto_insights.stack.supervisor_conf; do not edit.
[program:{name}]
command={_escape(shlex.join(command))}
directory={_escape(str(program.cwd))}
priority={program.priority}
autostart=true
autorestart=true
startsecs={program.startsecs}
startretries={START_RETRIES}
stopsignal=TERM
stopwaitsecs={program.stopwaitsecs}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={log}
stdout_logfile_maxbytes={LOG_MAXBYTES}
stdout_logfile_backups={LOG_BACKUPS}
"""


def write_program(layout: Layout, name: str, program: Program) -> bool:
    """Write the program's environment and section; True when the section changed (a new or changed program)."""
    env = program_environment(name, program, layout.home)
    environment = env_file(layout, name, env)
    text = render_program_conf(layout, name, program, environment)  # raises before anything is written
    layout.programs_dir.mkdir(parents=True, exist_ok=True)
    layout.logs_dir.mkdir(parents=True, exist_ok=True)
    if not environment.exists():
        tmp = environment.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(env, f, sort_keys=True)
        tmp.replace(environment)
    conf = layout.program_conf(name)
    if conf.exists() and conf.read_text() == text:
        return False
    conf.write_text(text)
    return True


def prune_env_files(layout: Layout) -> None:
    """Delete environment files no program section names any more."""
    confs = " ".join(p.read_text() for p in layout.programs_dir.glob("*.conf"))
    for path in layout.programs_dir.glob("*.env.json"):
        if path.name not in confs:
            path.unlink(missing_ok=True)

"""The embedded PostgreSQL server: initdb on first start, a free loopback port, run as an unprivileged user.

Layout under the base folder (`.local/postgres/` by default):
  state.json       port, superuser and role passwords (0600, readable only by whoever started it)
  server/          owned by the server's account: `data/` (the cluster) and `postgres.log`
When the base folder sits where the server's account cannot reach (a repo under /root, mode 0700), the
`server/` folder moves to a reachable place under /var/tmp, and so do the binaries; the state file says where.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crypto_insights.paths import local_dir
from crypto_insights.postgres.binaries import PgBinaries, find_binaries
from crypto_insights.postgres.os_user import as_server_user, give_to_server_user, server_user_can_reach

log = logging.getLogger(__name__)

SUPERUSER = "crypto_admin"
APP_ROLES = ("crypto_loader", "crypto_transform", "crypto_reader", "airflow_app", "superset_app")


class PostgresError(RuntimeError):
    pass


@dataclass
class ServerState:
    port: int
    server_dir: str
    bindir: str
    origin: str
    superuser: str = SUPERUSER
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return Path(self.server_dir) / "data"

    @property
    def log_file(self) -> Path:
        return Path(self.server_dir) / "postgres.log"


def free_port(preferred: int | None = None) -> int:
    candidates = [preferred] if preferred else []
    for port in [*candidates, 0]:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as PostgreSQL does: TIME_WAIT is free
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise PostgresError("no free TCP port on 127.0.0.1")


class EmbeddedPostgres:
    """Start, stop and describe the project's own PostgreSQL server (idempotent)."""

    def __init__(self, base_dir: Path | None = None) -> None:
        self.base_dir = Path(base_dir or local_dir() / "postgres").resolve()
        self.state_file = self.base_dir / "state.json"

    # -- state -----------------------------------------------------------------------------------------------
    def load_state(self) -> ServerState | None:
        try:
            return ServerState(**json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            return None

    def _save_state(self, state: ServerState) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(self.state_file)

    # -- lifecycle -------------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        state = self.load_state()
        if state is None or not (state.data_dir / "PG_VERSION").exists():
            return False
        result = subprocess.run(
            as_server_user([str(Path(state.bindir) / "pg_ctl"), "status", "-D", str(state.data_dir)]),
            capture_output=True,
            text=True,
        )
        return result.returncode == 0

    def start(self) -> ServerState:
        state = self.load_state() or self._init_cluster()
        if self.is_running():
            return state
        state.port = free_port(state.port)
        self._save_state(state)
        argv = [
            str(Path(state.bindir) / "pg_ctl"),
            "start",
            "--wait",
            "--timeout=60",
            "--silent",
            "-D",
            str(state.data_dir),
            "-l",
            str(state.log_file),
            "-o",
            f"-p {state.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
        ]
        started = time.monotonic()
        result = subprocess.run(as_server_user(argv), capture_output=True, text=True)
        if result.returncode != 0:
            raise PostgresError(
                f"PostgreSQL did not start (port {state.port}): {result.stderr.strip()}\n"
                f"last log lines:\n{self._log_tail(state)}"
            )
        log.info("PostgreSQL up on 127.0.0.1:%s in %.2fs", state.port, time.monotonic() - started)
        return state

    def stop(self) -> bool:
        """Stop the server; False when it was not running."""
        state = self.load_state()
        if state is None or not self.is_running():
            return False
        argv = [str(Path(state.bindir) / "pg_ctl"), "stop", "--wait", "-m", "fast", "-D", str(state.data_dir)]
        result = subprocess.run(as_server_user(argv), capture_output=True, text=True)
        if result.returncode != 0:
            raise PostgresError(f"PostgreSQL did not stop: {result.stderr.strip()}")
        return True

    def destroy(self) -> list[Path]:
        """Stop and delete the cluster, wherever it lives (a /var/tmp folder when the home is private, with its copy
        of the binaries), and its state; returns what was removed (`crypto-insights postgres destroy`, tests)."""
        self.stop()
        state = self.load_state()
        removed: list[Path] = []
        folders = [self.base_dir]
        if state is not None:
            server_dir = Path(state.server_dir)
            folders += [server_dir, server_dir.parent / f"{server_dir.name}-pginstall"]
        for folder in folders:
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        return removed

    # -- first start -----------------------------------------------------------------------------------------
    def _reachable_dir(self) -> Path:
        """`server/` under the base folder, or a /var/tmp folder when the server's account cannot reach it."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if server_user_can_reach(self.base_dir):
            return self.base_dir / "server"
        digest = hashlib.sha256(str(self.base_dir).encode()).hexdigest()[:12]
        moved = Path("/var/tmp") / f"crypto-insights-pg-{digest}"
        log.warning("%s is not reachable by the PostgreSQL account: keeping the cluster in %s", self.base_dir, moved)
        return moved

    def _reachable_binaries(self, binaries: PgBinaries, server_dir: Path) -> Path:
        if server_user_can_reach(binaries.bindir / "postgres"):
            return binaries.bindir
        install = binaries.bindir.parent
        target = server_dir.parent / f"{server_dir.name}-pginstall"
        if not (target / "bin" / "postgres").exists():
            shutil.copytree(install, target, symlinks=True)
            os.chmod(target, 0o755)
        return target / "bin"

    def _init_cluster(self) -> ServerState:
        binaries = find_binaries()
        server_dir = self._reachable_dir()
        server_dir.mkdir(parents=True, exist_ok=True)
        give_to_server_user(server_dir)
        bindir = self._reachable_binaries(binaries, server_dir)
        state = ServerState(
            port=free_port(),
            server_dir=str(server_dir),
            bindir=str(bindir),
            origin=binaries.origin,
            passwords={role: secrets.token_urlsafe(18) for role in (SUPERUSER, *APP_ROLES)},
        )
        pwfile = server_dir / ".pwfile"
        pwfile.write_text(state.passwords[SUPERUSER] + "\n")
        os.chmod(pwfile, 0o600)
        give_to_server_user(pwfile)
        try:
            argv = [
                str(bindir / "initdb"),
                "-D",
                str(state.data_dir),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ]
            result = subprocess.run(as_server_user(argv), capture_output=True, text=True)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise PostgresError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
        self._tune(state)
        self._save_state(state)
        log.info("initialised a PostgreSQL cluster in %s (%s binaries)", state.data_dir, binaries.origin)
        return state

    @staticmethod
    def _tune(state: ServerState) -> None:
        """Settings for a small single-machine warehouse; appended once, right after initdb."""
        conf = state.data_dir / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                "\n# crypto-insights\n"
                "shared_buffers = 256MB\nwork_mem = 32MB\nmaintenance_work_mem = 256MB\n"
                "max_connections = 200\nwal_compression = on\nmax_wal_size = 2GB\n"
                "timezone = 'UTC'\nlog_timezone = 'UTC'\n"
            )

    @staticmethod
    def _log_tail(state: ServerState, lines: int = 20) -> str:
        try:
            return "\n".join(state.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

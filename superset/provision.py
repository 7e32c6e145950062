"""Provision Superset in one process: migrate, admin user, roles, import the assets bundle, prune, viewer, check.

Runs with Superset's own interpreter (``.venv-superset/bin/python superset/provision.py --bundle B.zip``) and
imports nothing from the project: ``crypto_insights.dashboards.bootstrap`` renders the bundle and calls this.
Every step is what the ``superset`` CLI does (``db upgrade``, ``fab create-admin``, ``init``), run in one
application instead of one process each (each start costs ~4 s); the import is Superset's own
``ImportAssetsCommand`` (``POST /api/v1/assets/import/``), which overwrites databases, datasets, charts and
dashboards alike and takes the database password next to the bundle, never inside it.

Secrets come from the environment: SUPERSET_ADMIN_PASSWORD and CRYPTO_READER_PASSWORD.
The report (one entry per step with its duration) is written as JSON to ``--report``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any
from zipfile import ZipFile

log = logging.getLogger("crypto_insights.provision")

# Charts and dashboards the bundle manages carry this mark; those no longer in the bundle (a symbol removed from
# the config) are deleted. Objects made by hand in the UI never carry it, so they are never touched.
MANAGED_BY = "Crypto Insights (superset/assets)"
DATABASE_FILE = "databases/crypto_warehouse.yaml"


class ProvisionError(RuntimeError):
    pass


class Report:
    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.facts: dict[str, Any] = {}

    @contextmanager
    def step(self, name: str):
        started = time.monotonic()
        try:
            yield
        finally:
            seconds = round(time.monotonic() - started, 3)
            self.steps.append({"step": name, "seconds": seconds})
            log.info("superset provision: %s took %.2fs", name, seconds)

    def as_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, **self.facts}


def _secret(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ProvisionError(f"${name} is not set (crypto_insights.dashboards.bootstrap passes it)")
    return value


def _cli(info: Any) -> Callable[..., None]:
    """Run a `superset` CLI command inside this process, on the application already loaded in `info`."""
    from superset.cli.main import superset as superset_group

    def run(*args: str) -> None:
        superset_group.main(list(args), prog_name="superset", obj=info, standalone_mode=False)

    return run


def ensure_admin(username: str, password: str) -> str:
    """Create the admin user, or reset its password to the current one; returns what was done."""
    from superset import security_manager
    from superset.extensions import db
    from werkzeug.security import check_password_hash

    user = security_manager.find_user(username=username)
    if user is None:
        role = security_manager.find_role(security_manager.auth_role_admin)
        created = security_manager.add_user(username, "Crypto", "Insights", f"{username}@localhost", role, password)
        if not created:
            raise ProvisionError(f"Superset could not create the user {username!r}: see the log above")
        return "created"
    if user.password and check_password_hash(user.password, password):
        return "unchanged"
    security_manager.reset_password(user.id, password)
    db.session.commit()
    return "password reset"


VIEWER_ROLE = "Crypto Insights Viewer"
# What a viewer may not do, taken out of Gamma's permissions: write anything, and anything of SQL Lab's.
_WRITES = ("can_write", "can_add", "can_edit", "can_delete", "can_save", "can_overwrite", "can_copy", "can_import")
_SQL_LAB = ("sql", "query", "savedquery", "tabstateview", "tableschemaview")


def _read_only(permission_view: Any) -> bool:
    permission, view = permission_view.permission.name, permission_view.view_menu.name.lower().replace(" ", "")
    return not permission.startswith(_WRITES) and not any(part in view for part in _SQL_LAB)


def ensure_viewer(username: str, password: str, database_uuid: str) -> str:
    """The read-only role (Gamma's read permissions, the warehouse database's data, no SQL Lab, no edits) and its
    user, created or brought back to that role and password; returns what was done."""
    from superset import security_manager
    from superset.extensions import db
    from superset.models.core import Database
    from werkzeug.security import check_password_hash

    gamma = security_manager.find_role("Gamma")
    role = security_manager.find_role(VIEWER_ROLE) or security_manager.add_role(VIEWER_ROLE)
    database = db.session.query(Database).filter_by(uuid=database_uuid).one()
    data = security_manager.add_permission_view_menu("database_access", database.perm)
    role.permissions = [pv for pv in gamma.permissions if _read_only(pv)] + [data]
    db.session.commit()

    user = security_manager.find_user(username=username)
    if user is None:
        created = security_manager.add_user(username, "Crypto", "Viewer", f"{username}@localhost", role, password)
        if not created:
            raise ProvisionError(f"Superset could not create the user {username!r}: see the log above")
        return "created"
    done = "unchanged"
    if [r.name for r in user.roles] != [VIEWER_ROLE]:
        user.roles = [role]
        done = "role reset"
    if not (user.password and check_password_hash(user.password, password)):
        security_manager.reset_password(user.id, password)
        done = "password reset" if done == "unchanged" else f"{done}, password reset"
    db.session.commit()
    return done


def import_bundle(path: str, reader_password: str) -> dict[str, list[str]]:
    """Import every asset of the bundle (overwriting), the warehouse password given alongside; returns the uuids."""
    import yaml
    from superset.commands.importers.v1.assets import ImportAssetsCommand
    from superset.commands.importers.v1.utils import get_contents_from_bundle

    with ZipFile(path) as bundle:
        contents = get_contents_from_bundle(bundle)
    if DATABASE_FILE not in contents:
        raise ProvisionError(f"{path} holds no {DATABASE_FILE}: render it with crypto_insights.dashboards.bundle")
    ImportAssetsCommand(contents, passwords={DATABASE_FILE: reader_password}).run()
    uuids: dict[str, list[str]] = {}
    for name, text in contents.items():
        kind = name.split("/", 1)[0]
        if kind != "metadata.yaml":
            uuids.setdefault(kind, []).append(str(yaml.safe_load(text)["uuid"]))
    return uuids


def prune(kept: dict[str, list[str]], database_uuid: str) -> dict[str, list[str]]:
    """Delete what the bundle managed but no longer holds: dashboards and charts of a symbol removed from the config,
    and datasets of the warehouse database whose template was removed, once no chart uses them."""
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard
    from superset.models.slice import Slice

    removed: dict[str, list[str]] = {}
    for kind, model, label in (("dashboards", Dashboard, "dashboard_title"), ("charts", Slice, "slice_name")):
        keep = set(kept.get(kind, []))
        for obj in db.session.query(model).filter(model.certified_by == MANAGED_BY).all():
            if str(obj.uuid) not in keep:
                removed.setdefault(kind, []).append(getattr(obj, label))
                db.session.delete(obj)
    db.session.flush()
    database = db.session.query(Database).filter_by(uuid=database_uuid).one()
    keep = set(kept.get("datasets", []))
    for dataset in db.session.query(SqlaTable).filter_by(database_id=database.id, is_managed_externally=True):
        in_use = db.session.query(Slice).filter_by(datasource_id=dataset.id, datasource_type="table").count()
        if str(dataset.uuid) not in keep and not in_use:
            removed.setdefault("datasets", []).append(dataset.table_name)
            db.session.delete(dataset)
    db.session.commit()
    return removed


def check_warehouse(database_uuid: str) -> dict[str, Any]:
    """Query the warehouse as Superset will (the bundle's role) and compare it with the datasets.

    Reports the role and whether its transactions are read-only, the tables not built yet (dbt has not run), and
    for built ones the columns a dataset declares that the table (or the virtual dataset's SQL) does not return.
    """
    from sqlalchemy import text
    from superset.connectors.sqla.models import SqlaTable
    from superset.extensions import db
    from superset.models.core import Database

    database = db.session.query(Database).filter_by(uuid=database_uuid).one()
    datasets = db.session.query(SqlaTable).filter_by(database_id=database.id).all()
    missing_tables: list[str] = []
    missing_columns: dict[str, list[str]] = {}
    try:
        with database.get_sqla_engine() as engine, engine.connect() as conn:
            user = conn.execute(text("select current_user")).scalar()
            read_only = conn.execute(text("show transaction_read_only")).scalar()
            columns: dict[tuple[str, str], set[str]] = {}
            for schema, table, column in conn.execute(text(
                "select table_schema, table_name, column_name from information_schema.columns"
            )):
                columns.setdefault((schema, table), set()).add(column)
            for dataset in datasets:
                name = f"{dataset.schema}.{dataset.table_name}"
                if dataset.sql:
                    try:  # its own connection: a failed statement must not poison the others
                        with engine.connect() as probe:
                            result = probe.execute(text(f"select * from ({dataset.sql}) as dataset limit 0"))
                            returned = set(result.keys())
                    except Exception as exc:  # the marts it reads may not exist yet
                        missing_tables.append(f"{name} (virtual: {type(getattr(exc, 'orig', exc)).__name__})")
                        continue
                elif (dataset.schema, dataset.table_name) in columns:
                    returned = columns[(dataset.schema, dataset.table_name)]
                else:
                    missing_tables.append(name)
                    continue
                declared = {c.column_name for c in dataset.columns if not c.expression}
                if declared - returned:
                    missing_columns[name] = sorted(declared - returned)
    except Exception as exc:  # the import succeeded; say clearly that the dashboards cannot query yet
        raise ProvisionError(
            f"Superset cannot query the warehouse as {database.url_object.username}@{database.url_object.host}:"
            f"{database.url_object.port}: {type(exc).__name__}: {exc}. Is PostgreSQL running and the reader "
            f"password current?"
        ) from exc
    return {"warehouse_user": user, "warehouse_read_only": read_only == "on",
            "missing_tables": sorted(missing_tables), "missing_columns": missing_columns}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", required=True, help="the assets zip rendered by crypto_insights.dashboards")
    parser.add_argument("--admin-username", default="admin")
    parser.add_argument("--viewer-username", default="viewer")
    parser.add_argument("--database-uuid", required=True, help="uuid of the warehouse database in the bundle")
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    parser.add_argument("--no-prune", action="store_true", help="keep managed charts/dashboards not in the bundle")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    report = Report()
    try:
        admin_password = _secret("SUPERSET_ADMIN_PASSWORD")
        viewer_password = _secret("SUPERSET_VIEWER_PASSWORD")
        reader_password = _secret("CRYPTO_READER_PASSWORD")
        with report.step("load app"):
            from flask import g
            from flask.cli import ScriptInfo
            from superset.cli.main import create_app

            info = ScriptInfo(create_app=create_app)
            app = info.load_app()
        cli = _cli(info)
        with report.step("db upgrade"):
            cli("db", "upgrade")
        with app.app_context():
            with report.step("admin user"):
                report.facts["admin"] = ensure_admin(args.admin_username, admin_password)
        with report.step("init"):
            cli("init")
        with app.app_context():
            from superset import security_manager

            g.user = security_manager.find_user(username=args.admin_username)
            with report.step("import assets"):
                imported = import_bundle(args.bundle, reader_password)
                report.facts["imported"] = {kind: len(uuids) for kind, uuids in imported.items()}
            if not args.no_prune:
                with report.step("prune"):
                    report.facts["pruned"] = prune(imported, args.database_uuid)
            with report.step("viewer role and user"):
                report.facts["viewer"] = ensure_viewer(args.viewer_username, viewer_password, args.database_uuid)
            with report.step("check warehouse"):
                report.facts.update(check_warehouse(args.database_uuid))
        report.facts["ok"] = True
        return 0
    except ProvisionError as exc:
        report.facts.update(ok=False, error=str(exc))
        log.error("%s", exc)
        return 1
    except Exception as exc:  # Superset's own errors: keep the traceback in the log, the summary in the report
        report.facts.update(ok=False, error=f"{type(exc).__name__}: {exc}")
        log.exception("provisioning Superset failed")
        return 1
    finally:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(report.as_dict(), f, indent=2)


if __name__ == "__main__":
    sys.exit(main())

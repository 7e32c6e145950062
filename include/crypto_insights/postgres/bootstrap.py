"""Databases and roles of docs/architecture.md#databases-and-roles, created idempotently on every start.

- ``crypto`` (the warehouse): ``crypto_loader`` owns ``raw``; ``crypto_transform`` (dbt) reads raw and creates
  its own schemas; ``crypto_reader`` (Superset) is read-only and is granted SELECT on marts by dbt. It is also
  bounded: a statement is cancelled after ``READER_STATEMENT_TIMEOUT`` and at most ``READER_CONNECTION_LIMIT``
  sessions connect at once, so a runaway dashboard cannot starve the ingest and dbt of the server.
- ``airflow`` and ``superset``: metadata databases owned by their applications' roles.
"""

from __future__ import annotations

import psycopg2
from psycopg2 import sql

from crypto_insights.postgres.connection import ROLE_USERS, Endpoint

DATABASE_OWNERS = {"crypto": "crypto_admin", "airflow": "airflow_app", "superset": "superset_app"}
READER_ROLE = "crypto_reader"
READER_STATEMENT_TIMEOUT = "30s"  # dashboard queries take well under a second (docs/benchmarks.md)
READER_CONNECTION_LIMIT = 20  # Superset's workers and pools, with room to spare


def _ensure_role(cur, user: str, password: str) -> None:
    cur.execute("select 1 from pg_roles where rolname = %s", (user,))
    verb = "alter" if cur.fetchone() else "create"
    cur.execute(sql.SQL(verb + " role {} with login password %s").format(sql.Identifier(user)), (password,))


def _bound_reader(cur) -> None:
    """The read-only role's limits (role-wide: they hold in every database and for every new session)."""
    role = sql.Identifier(READER_ROLE)
    cur.execute(sql.SQL("alter role {} connection limit {}").format(role, sql.Literal(READER_CONNECTION_LIMIT)))
    cur.execute(sql.SQL("alter role {} set statement_timeout = {}").format(role, sql.Literal(READER_STATEMENT_TIMEOUT)))


def _ensure_database(cur, name: str, owner: str) -> None:
    cur.execute("select 1 from pg_database where datname = %s", (name,))
    if not cur.fetchone():
        cur.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(name), sql.Identifier(owner)))


WAREHOUSE_GRANTS = """
grant connect on database {db} to crypto_loader, crypto_transform, crypto_reader;
grant create on database {db} to crypto_transform;
create schema if not exists raw authorization crypto_loader;
grant usage on schema raw to crypto_transform;
alter default privileges for role crypto_loader in schema raw grant select on tables to crypto_transform;
grant select on all tables in schema raw to crypto_transform;
alter role crypto_reader set default_transaction_read_only = on;
"""


def bootstrap(admin: Endpoint, passwords: dict[str, str], warehouse_db: str = "crypto") -> None:
    """Create (or re-password) the roles and databases; `admin` is a superuser endpoint on any database.

    `warehouse_db` names the warehouse database (tests give each test a fresh one).
    """
    conn = psycopg2.connect(**admin.with_db("postgres").connect_kwargs())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for user in ROLE_USERS.values():
                if user != admin.user:
                    _ensure_role(cur, user, passwords[user])
            if READER_ROLE != admin.user:
                _bound_reader(cur)
            owners = {**DATABASE_OWNERS, warehouse_db: "crypto_admin"}
            for name, owner in owners.items():
                _ensure_database(cur, name, owner if owner != "crypto_admin" else admin.user)
    finally:
        conn.close()
    conn = psycopg2.connect(**admin.with_db(warehouse_db).connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql.SQL(WAREHOUSE_GRANTS).format(db=sql.Identifier(warehouse_db)))
    finally:
        conn.close()

"""`WarehouseHook` is the provider's PostgresHook and keeps every libpq setting of the Airflow connection.

A user on a managed PostgreSQL sets `sslmode`, `sslrootcert` or `options` in the connection's extras; the hand-written
hook this replaced dropped them. Here the extras travel from an `AIRFLOW_CONN_*` URI to the live session.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import Connection

from crypto_insights.airflow.hooks import WarehouseHook, connect_kwargs, warehouse_connection
from crypto_insights.postgres.connection import endpoint

pytestmark = pytest.mark.integration


def test_extras_reach_libpq_and_the_provider_keys_do_not() -> None:
    conn = Connection(
        conn_id="x",
        conn_type="postgres",
        host="db.example",
        port=6543,
        login="u",
        password="p",
        schema="crypto",
        extra='{"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem", '
        '"connect_timeout": 20, "cursor": "dictcursor", "iam": false}',
    )
    kwargs = connect_kwargs(conn)
    assert kwargs["sslmode"] == "verify-full" and kwargs["sslrootcert"] == "/etc/ca.pem"
    assert kwargs["connect_timeout"] == 20  # the connection's own setting wins over the default
    assert "cursor" not in kwargs and "iam" not in kwargs  # the provider's keys, not libpq's
    assert (kwargs["host"], kwargs["port"], kwargs["dbname"]) == ("db.example", 6543, "crypto")


def test_the_hook_connects_with_the_connection_extras(warehouse_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    loader = endpoint("loader", warehouse_db)
    options = quote("-c statement_timeout=4321", safe="")
    monkeypatch.setenv(
        "AIRFLOW_CONN_HOOK_TEST", f"{loader.url()}?sslmode=disable&application_name=hook-test&options={options}"
    )
    hook = WarehouseHook("hook_test")
    assert isinstance(hook, PostgresHook) and hook.get_conn_id() == "hook_test"
    with warehouse_connection("hook_test") as conn, conn.cursor() as cur:
        cur.execute(
            "select current_user, current_database(), current_setting('statement_timeout'), "
            "current_setting('application_name'), ssl from pg_stat_ssl where pid = pg_backend_pid()"
        )
        assert cur.fetchone() == ("crypto_loader", warehouse_db, "4321ms", "hook-test", False)
    assert conn.closed

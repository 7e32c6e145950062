"""`WarehouseHook`: the Postgres provider's `PostgresHook`, handing out psycopg2 connections to the warehouse.

The provider hands out psycopg 3 connections whenever psycopg 3 and SQLAlchemy 2 are installed (as they are with
Airflow 3); the landing's COPY, LISTEN/NOTIFY and `with conn:` transactions are psycopg2's. So this hook reads the
Airflow connection exactly as the provider does — its extras (`sslmode`, `sslrootcert`, `options`, ...) are passed
to libpq, the provider's own keys (`cursor`, `iam`, ...) are not — and opens it with psycopg2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.providers.postgres.hooks.postgres import PostgresHook

from crypto_insights.airflow.assets import WAREHOUSE_CONN_ID

APPLICATION_NAME = "crypto-insights-airflow"
CONNECT_TIMEOUT_S = 5  # a warehouse that is down fails the task fast, and Airflow retries it


def connect_kwargs(conn: Any) -> dict[str, Any]:
    """psycopg2 keyword arguments from an Airflow Connection (schema = database, as Postgres URIs say).

    The extras come last, as in the provider, so a connection can set its own `connect_timeout` or
    `application_name`.
    """
    extras = {k: v for k, v in conn.extra_dejson.items() if k not in PostgresHook.ignored_extra_options}
    return {
        "host": conn.host or "127.0.0.1",
        "port": conn.port or 5432,
        "user": conn.login,
        "password": conn.password,
        "dbname": conn.schema or "crypto",
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": APPLICATION_NAME,
        **extras,
    }


class WarehouseHook(PostgresHook):
    """A `PostgresHook` on the warehouse connection whose `get_conn` is a psycopg2 connection.

    :param warehouse_conn_id: the Airflow connection (`crypto_warehouse`: role crypto_loader; `crypto_transform`).
    """

    default_conn_name = WAREHOUSE_CONN_ID
    hook_name = "Crypto Insights warehouse"

    def __init__(self, warehouse_conn_id: str = WAREHOUSE_CONN_ID, **kwargs: Any) -> None:
        super().__init__(postgres_conn_id=warehouse_conn_id, **kwargs)

    def get_conn(self):
        import psycopg2

        self.conn = psycopg2.connect(**connect_kwargs(self.connection))
        return self.conn


@contextmanager
def warehouse_connection(conn_id: str = WAREHOUSE_CONN_ID) -> Iterator[Any]:
    """A psycopg2 connection on `conn_id`, closed on the way out (transactions stay the caller's: `with conn:`)."""
    conn = WarehouseHook(conn_id).get_conn()
    try:
        yield conn
    finally:
        conn.close()

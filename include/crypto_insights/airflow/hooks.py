"""`WarehouseHook`: psycopg2 connections to the warehouse from an Airflow connection (AIRFLOW_CONN_*)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from crypto_insights.airflow.assets import WAREHOUSE_CONN_ID


def connect_kwargs(conn: Any) -> dict[str, Any]:
    """psycopg2 keyword arguments from an Airflow Connection (schema = database, as Postgres URIs say)."""
    return {
        "host": conn.host or "127.0.0.1", "port": conn.port or 5432, "user": conn.login,
        "password": conn.password, "dbname": conn.schema or "crypto", "connect_timeout": 5,
        "application_name": "crypto-insights-airflow",
    }  # fmt: skip


class WarehouseHook(BaseHook):
    conn_name_attr = "warehouse_conn_id"
    default_conn_name = WAREHOUSE_CONN_ID
    conn_type = "postgres"
    hook_name = "Crypto Insights warehouse"

    def __init__(self, warehouse_conn_id: str = WAREHOUSE_CONN_ID) -> None:
        super().__init__()
        self.warehouse_conn_id = warehouse_conn_id

    def get_conn(self):
        import psycopg2

        return psycopg2.connect(**connect_kwargs(self.get_connection(self.warehouse_conn_id)))

"""Shared helpers of the landing tests: a WindowLander on a test database, and row queries."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg2

from crypto_insights.landing.slots import floor_slot
from crypto_insights.landing.window import WindowLander
from crypto_insights.postgres.connection import endpoint


def lander_for(db: str, config_path: str | None = None) -> WindowLander:
    lander = WindowLander.from_connect_kwargs(endpoint("loader", db).connect_kwargs(), config_path)
    lander.migrate()
    return lander


def current_slot() -> datetime:
    return floor_slot(datetime.now(UTC), 10)


def rows(db: str, statement: str, params: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(**endpoint("transform", db).connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall()
    finally:
        conn.close()


def query(db: str, sql: str, role: str = "transform") -> list[dict]:
    """Rows of `sql` as dicts (column name -> value), read as `role`."""
    conn = psycopg2.connect(**endpoint(role, db).connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        conn.close()


def data_quality(db: str, where: str = "true") -> dict[tuple, tuple]:
    """marts.fct_data_quality as the dashboards read it (role crypto_reader), keyed by (window, product, entity,
    rule): (rule_kind, rows checked, dropped, warned, slots expected, landed, completeness)."""
    rows = query(db, f"select * from marts.fct_data_quality where {where}", role="reader")
    keyed = {
        (r["window_start"], r["product_id"], r["entity"], r["rule"]): (
            r["rule_kind"],
            r["rows_checked"],
            r["rows_dropped"],
            r["rows_warned"],
            r["slots_expected"],
            r["slots_landed"],
            r["completeness"],
        )
        for r in rows
    }
    assert len(keyed) == len(rows), "fct_data_quality repeats a (window, product, entity, rule)"
    return keyed

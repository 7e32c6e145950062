"""What the soak watches while it runs: the marts' newest window, each program's memory, the disk by layer.

Every probe survives the outages it watches: a query while PostgreSQL is stopped is a None, never an exception.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import psycopg2

from bench.stack_memory import _kib, _processes, _tree, demo_roots
from crypto_insights.postgres.connection import WAREHOUSE_DB, endpoint


def query(role: str, sql: str, params: tuple | dict = (), dbname: str | None = None) -> list[tuple] | None:
    """Rows of one query on a fresh connection; None when the database does not answer."""
    try:
        conn = psycopg2.connect(**endpoint(role, dbname).connect_kwargs())  # connect_timeout 5 s
    except psycopg2.Error:
        return None
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    except psycopg2.Error:
        return None
    finally:
        conn.close()


def marts_newest_window() -> datetime | None:
    """max(window_start) of marts.fct_order_book_30s, as the dashboards' read-only role sees it."""
    rows = query("reader", "select max(window_start) from marts.fct_order_book_30s")
    return rows[0][0] if rows else None


def first_raw_slot(since: datetime) -> datetime | None:
    """The first slot from `since` on that the ingest landed or recorded (the pipeline is working)."""
    rows = query(
        "loader",
        """
        select min(slot_at) from (
            select min(slot_at) as slot_at from raw.coinbase_book_snapshots where slot_at >= %(since)s
            union all select min(slot_at) from raw.coinbase_tickers where slot_at >= %(since)s
            union all select min(slot_at) from raw.coinbase_ingest_errors where slot_at >= %(since)s
        ) as firsts""",
        {"since": since},
    )
    return rows[0][0] if rows else None


def memory_sample(pids: dict[str, int | None], home: Path) -> dict[str, dict[str, float]]:
    """Program -> {pss_mib, rss_mib, processes, pid} over each program's process tree (PostgreSQL: the
    postmaster's). A program without a pid (restarting) is left out."""
    processes = _processes()
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _) in processes.items():
        children[ppid].append(pid)
    roots = {name: pid for name, pid in pids.items() if pid}
    if (postmaster := demo_roots(home).get("postgres")) is not None:
        roots["postgres"] = postmaster
    sample: dict[str, dict[str, float]] = {}
    for name, root in roots.items():
        tree = _tree(root, children)
        kib = [_kib(pid) for pid in tree]
        sample[name] = {
            "pss_mib": round(sum(p for p, _ in kib) / 1024, 1),
            "rss_mib": round(sum(r for _, r in kib) / 1024, 1),
            "processes": len(tree),
            "pid": root,
        }
    return sample


def disk_by_layer(warehouse_db: str = WAREHOUSE_DB) -> dict[str, int] | None:
    """Bytes per warehouse schema (tables, indexes and TOAST of every partition), and each other database of the
    stack as a whole (Airflow's and Superset's metadata); None while PostgreSQL is stopped."""
    schemas = query(
        "admin",
        """
        select n.nspname, sum(pg_total_relation_size(c.oid))::bigint
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'm') and n.nspname not in ('pg_catalog', 'information_schema')
            and n.nspname not like 'pg_toast%%'
        group by 1 order by 1""",
        dbname=warehouse_db,
    )
    databases = query(
        "admin",
        "select datname, pg_database_size(datname)::bigint from pg_database "
        "where datname not in ('postgres', 'template0', 'template1', %s)",
        (warehouse_db,),
        dbname=warehouse_db,
    )
    if schemas is None or databases is None:
        return None
    return {
        **{f"{warehouse_db}.{name}": size for name, size in schemas},
        **{f"{name} (database)": size for name, size in databases},
    }


def folder_bytes(folder: Path) -> int:
    """Bytes allocated to the files under `folder` (what `du` counts)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


def spool_files(home: Path) -> int:
    """Slot batches waiting in the spool (the warehouse was down when they were fetched)."""
    return sum(1 for _ in (home / "spool").glob("**/*.json"))

"""`coinbase_ingest` end to end with `dag.test()`: real Airflow, the offline exchange, the real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import psycopg2
import pytest
from tests.integration.landing_helpers import current_slot, lander_for, rows

from crypto_insights.config import load_settings
from crypto_insights.landing.partitions import ensure_partitions, existing_partitions
from crypto_insights.paths import DAGS_DIR
from crypto_insights.postgres.connection import endpoint
from crypto_insights.transform.dbt_docs import docs_dir

pytestmark = pytest.mark.e2e


def _xcom(run_id: str, dag_id: str, task_id: str):
    conn = psycopg2.connect(**endpoint("airflow").connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select value from xcom where dag_id = %s and run_id = %s and task_id = %s and key = 'return_value'",
                (dag_id, run_id, task_id),
            )
            found = cur.fetchall()
    finally:
        conn.close()
    return found[0][0] if found else None


def test_ingest_window_defers_and_lands_every_slot(airflow_db, exchange, warehouse_db, monkeypatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_WAREHOUSE", endpoint("loader", warehouse_db).url())
    settings = load_settings()
    dag = DagBag(dag_folder=str(DAGS_DIR / "coinbase_ingest.py")).dags["coinbase_ingest"]

    run = dag.test()

    assert run.state == "success"
    summary = _xcom(run.run_id, "coinbase_ingest", "land_window")
    # `execute` only defers; a return value exists only if the trigger fired and `execute_complete` ran.
    assert summary is not None, "land_window never resumed from its trigger"
    n, slots = len(settings.product_ids), settings.ingest.slots_per_window
    assert len(summary["slots"]) == slots
    assert (summary["books"], summary["tickers"]) == (n * slots, n * slots)
    assert summary["trades"] > 0  # the tape started: each product's newest prints
    # no book or ticker failed (a trade page may meet its deadline on a loaded machine: it is fetched again later)
    assert rows(warehouse_db, "select count(*) from raw.coinbase_ingest_errors where endpoint <> 'trades'") == [(0,)]
    landed = rows(
        warehouse_db,
        "select slot_at, count(distinct product_id) from raw.coinbase_book_snapshots group by 1 order by 1",
    )
    assert [c for _, c in landed] == [n] * slots
    gaps = [(b - a).total_seconds() for (a, _), (b, _) in zip(landed, landed[1:], strict=False)]
    assert gaps == [settings.ingest.slot_seconds] * (slots - 1)
    # requests were made at (or just after) each slot boundary, not all at once
    lag = rows(warehouse_db, "select max(extract(epoch from requested_at - slot_at)) from raw.coinbase_book_snapshots")
    assert 0 <= lag[0][0] < settings.ingest.slot_seconds


def test_transform_dag_builds_the_marts_after_a_landed_window(airflow_db, exchange, warehouse_db, monkeypatch) -> None:
    """The slot landed by the ingest path is in the marts after `crypto_transform` (Cosmos, dbt build) runs."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_TRANSFORM", endpoint("transform", warehouse_db).url())
    lander = lander_for(warehouse_db)
    try:
        slot = current_slot()
        assert lander.land(slot, now=slot).books == len(load_settings().product_ids)
    finally:
        lander.close()
    dag = DagBag(dag_folder=str(DAGS_DIR / "crypto_transform.py")).dags["crypto_transform"]

    run = dag.test()

    assert run.state == "success"
    marts = rows(warehouse_db, "select product_id, snapshot_count from marts.fct_order_book_30s order by 1")
    assert [p for p, _ in marts] == sorted(load_settings().product_ids)
    assert all(n == 1 for _, n in marts)


def test_maintenance_dag_manages_partitions_and_daily_marts(airflow_db, exchange, warehouse_db, monkeypatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_WAREHOUSE", endpoint("loader", warehouse_db).url())
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_TRANSFORM", endpoint("transform", warehouse_db).url())
    lander = lander_for(warehouse_db)
    try:
        slot = current_slot()
        lander.land(slot, now=slot)
        conn = psycopg2.connect(**endpoint("loader", warehouse_db).connect_kwargs())
        with conn:
            ensure_partitions(conn, date.today() - timedelta(days=30))  # an expired day
        conn.close()
    finally:
        lander.close()
    dag = DagBag(dag_folder=str(DAGS_DIR / "crypto_maintenance.py")).dags["crypto_maintenance"]

    run = dag.test()

    assert run.state == "success"
    conn = psycopg2.connect(**endpoint("loader", warehouse_db).connect_kwargs())
    days = sorted(existing_partitions(conn, "coinbase_book_snapshots").values())
    conn.close()
    today = datetime.now(UTC).date()
    assert days[0] >= today - timedelta(days=load_settings().ingest.retention_days)  # the expired day is gone
    assert days[-1] >= today + timedelta(days=2)  # created ahead of the ingest
    daily = rows(warehouse_db, "select count(distinct product_id) from marts.fct_order_book_daily")
    assert daily == [(len(load_settings().product_ids),)]
    # the dbt docs Cosmos' plugin serves, published by the daily run with the built marts in their catalog
    docs = docs_dir()
    manifest = json.loads((docs / "manifest.json").read_text())
    assert len(manifest["exposures"]) == len(load_settings().product_ids) and (docs / "index.html").exists()
    catalog = json.loads((docs / "catalog.json").read_text())
    assert "model.crypto_insights.fct_order_book_daily" in catalog["nodes"]


def test_a_slow_request_costs_neither_other_coins_nor_later_slots(
    airflow_db, exchange, warehouse_db, monkeypatch
) -> None:
    """The slots of a window are independent: the first slot's hung book request ends at its deadline."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_WAREHOUSE", endpoint("loader", warehouse_db).url())
    settings = load_settings()
    exchange.faults.add("/products/BTC-USD/book", "delay", seconds=40, count=1)
    dag = DagBag(dag_folder=str(DAGS_DIR / "coinbase_ingest.py")).dags["coinbase_ingest"]

    assert dag.test().state == "success"

    n, slots = len(settings.product_ids), settings.ingest.slots_per_window
    first = rows(warehouse_db, "select min(slot_at) from raw.coinbase_tickers")[0][0]
    assert rows(warehouse_db, "select product_id, slot_at, error_kind from raw.coinbase_ingest_errors") == [
        ("BTC-USD", first, "deadline_exceeded")
    ]
    assert rows(warehouse_db, "select count(*) from raw.coinbase_book_snapshots") == [(n * slots - 1,)]
    # the later slots were fetched on their own boundaries, not after the hung request
    lag = rows(
        warehouse_db,
        "select max(extract(epoch from requested_at - slot_at)) from raw.coinbase_book_snapshots where slot_at > %s",
        (first,),
    )
    assert lag[0][0] < settings.ingest.slot_seconds / 2, lag  # a hung request would have cost the whole slot

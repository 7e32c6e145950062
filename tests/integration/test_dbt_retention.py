"""The exploded detail (levels, profile buckets, tails) keeps `ingest.detail_retention_hours` behind the newest slot;
raw and the per-snapshot facts keep their days; a build over a longer lookback (the daily build) re-measures only
the books the detail still holds and leaves older measurements as they were. Real landing, real dbt."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
import yaml
from tests.integration.landing_helpers import current_slot, lander_for, rows

from crypto_insights.config import CONFIG_ENV, DEFAULT_CONFIG_PATH
from crypto_insights.landing.partitions import ensure_partitions
from crypto_insights.postgres.connection import endpoint
from crypto_insights.transform.dbt_runner import DAILY_SELECTOR, MICRO_BATCH_SELECTOR, run_dbt

pytestmark = pytest.mark.integration
DETAIL = ("stg_coinbase__book_levels", "stg_coinbase__book_buckets", "int_book_tails_bucketed")


def _slots(db: str, table: str) -> list[datetime]:
    return [r[0] for r in rows(db, f"select distinct slot_at from {table} order by 1")]


def _measured(db: str) -> list[tuple]:
    return rows(
        db,
        "select product_id, slot_at, mid, is_crossed, spread_bps, slippage_bps_buy_10k, bid_depth_base_50bps "
        "from intermediate.int_book_snapshots_measured order by 1, 2",
    )


def _build(db: str, target: Path, selector: str, lookback_minutes: int = 2) -> None:
    result = run_dbt(["run", "--selector", selector], dbname=db, lookback_minutes=lookback_minutes, target_path=target)
    assert result.returncode == 0, result.stdout[-5000:]


def test_detail_keeps_hours_and_a_day_long_build_leaves_older_measurements_alone(
    exchange, warehouse: str, monkeypatch, tmp_path: Path
) -> None:
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["ingest"]["detail_retention_hours"] = 1
    path = tmp_path / "crypto_insights.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv(CONFIG_ENV, str(path))
    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    conn = psycopg2.connect(**endpoint("loader", warehouse).connect_kwargs())
    try:
        ensure_partitions(conn, date.today() - timedelta(days=1), days=3)
    finally:
        conn.close()
    head = current_slot()
    old, recent = head - timedelta(hours=3), head - timedelta(minutes=30)
    lander = lander_for(warehouse, str(path))
    try:
        for slot in (old, recent, head):
            lander.land(slot, now=slot)  # fetched now, landed as that slot
        target = tmp_path / "target"
        _build(warehouse, target, MICRO_BATCH_SELECTOR)  # the first build reads all of raw
        first = _measured(warehouse)
        assert {r[1] for r in first} == {old, recent, head} and not any(r[3] for r in first)

        newest = head + timedelta(seconds=10)
        lander.land(newest, now=newest)
        _build(warehouse, target, MICRO_BATCH_SELECTOR)  # a micro-batch: its post-hook trims the detail
    finally:
        lander.close()
    for model in DETAIL:
        schema = "staging" if model.startswith("stg_") else "intermediate"
        assert _slots(warehouse, f"{schema}.{model}") == [recent, head, newest], model  # the 3 h old book is gone
    assert _slots(warehouse, "raw.coinbase_book_snapshots") == [old, recent, head, newest]
    measured = _measured(warehouse)
    assert [r for r in measured if r[1] != newest] == first  # earlier measurements untouched

    # the daily build looks back a day: the detail looks back its retention only, the measurements are redone for
    # what it holds, and the older book stays as measured
    _build(warehouse, target, DAILY_SELECTOR, lookback_minutes=24 * 60)
    assert _measured(warehouse) == measured
    for model in DETAIL:
        schema = "staging" if model.startswith("stg_") else "intermediate"
        assert _slots(warehouse, f"{schema}.{model}") == [recent, head, newest], model  # not exploded again
    assert datetime.now(UTC) - head < timedelta(minutes=10)  # the slots were landed as "now"

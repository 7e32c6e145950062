"""The trade tape lands every print the exchange made exactly once, across an outage.

The offline exchange runs on a test clock: ten minutes of trading pass while no slot lands (the pipeline is down),
then the slots that follow page back until the gap is closed. Compared with the exchange's own record of its prints.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import yaml
from tests.integration.exchange_helpers import small_settings
from tests.integration.landing_helpers import current_slot, lander_for, rows
from tests.integration.test_exchange_trades import TestClock

from crypto_insights.paths import DEFAULT_CONFIG_PATH

PRODUCTS = ("BTC-USD", "SOL-USD")
NS = 1_000_000_000


@pytest.fixture
def two_coins(tmp_path) -> str:
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["symbols"] = {pid: config["symbols"][pid] for pid in PRODUCTS}
    config["ingest"]["trades_backfill_pages_per_slot"] = 2
    path = tmp_path / "two_coins.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


def test_a_ten_minute_outage_loses_no_print_and_lands_none_twice(
    exchange_factory, warehouse_db, two_coins, monkeypatch
) -> None:
    clock = TestClock(time.time_ns() - 700 * NS)  # the exchange's clock ends near now: within the backfill horizon
    exchange = exchange_factory(settings=small_settings(1_500, PRODUCTS), clock=clock)
    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    lander = lander_for(warehouse_db, two_coins)
    step = timedelta(seconds=10)
    try:
        clock.advance(60)
        slot = current_slot()
        assert lander.land(slot, now=slot).trades > 0  # the tape starts here
        start = dict(rows(warehouse_db, "select product_id, min(trade_id) from raw.coinbase_trades group by 1"))
        clock.advance(600)  # ten minutes of prints while nothing lands
        served_before = _trade_requests(exchange)
        reports = []
        for i in range(1, 30):
            reports.append(lander.land(slot + i * step, now=slot + i * step))
            if not rows(warehouse_db, "select 1 from raw.coinbase_trade_gaps"):
                break
        assert rows(warehouse_db, "select count(*) from raw.coinbase_trade_gaps") == [(0,)], "a gap stayed open"
        # the rate budget: one newest page per product and slot, plus at most the slot's backfill budget
        assert max(r.trade_pages for r in reports) <= len(PRODUCTS) + 2
        assert sum(r.trade_pages for r in reports) == _trade_requests(exchange) - served_before
        assert len(reports) > 1, "the backfill should take more than one slot at a budget of 2 pages"
        for pid in PRODUCTS:
            made = [t["trade_id"] for t in exchange.trades(pid, after_id=start[pid] - 1)]
            landed = [
                r[0]
                for r in rows(
                    warehouse_db,
                    "select trade_id from raw.coinbase_trades where product_id = %s order by trade_id",
                    (pid,),
                )
            ]
            assert len(made) > 1000, f"{pid}: the outage should need paging back ({len(made)} prints)"
            assert landed == made, f"{pid}: {len(landed)} landed vs {len(made)} made"
        errors = rows(warehouse_db, "select error_kind from raw.coinbase_ingest_errors where endpoint = 'trades'")
        assert errors == []
    finally:
        lander.close()


def _trade_requests(exchange) -> int:
    return sum(n for path, n in exchange.requests_served.items() if path.endswith("/trades"))

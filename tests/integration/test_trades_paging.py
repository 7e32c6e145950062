"""The trade tape against the pages an exchange may really serve: empty, exactly `limit` long, overlapping, broken.

The offline exchange replays pages written here (replay mode: each slot's cursor-less request takes the next page;
paging back with `after=` is answered from every print of every page), so each edge case is served over HTTP to the
real client and landed by the real lander into the real PostgreSQL. What is landed is compared with the prints the
pages hold: every print once, none invented, every failed page recorded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from tests.integration.landing_helpers import current_slot, lander_for, rows
from tests.support.coinbase_fixtures import coinbase_capture_bytes

from crypto_insights.coinbase.trades import MAX_LIMIT
from crypto_insights.paths import DEFAULT_CONFIG_PATH

PRODUCT = "BTC-USD"
TICKER = (
    b'{"ask":"63217.43","bid":"63217.42","volume":"4918.33722403","trade_id":1040406590,'
    b'"price":"63212.97","size":"0.00003219","time":"2026-06-19T16:43:33.739704Z"}'
)


def prints(newest: int, oldest: int) -> list[dict]:
    """Well-formed prints `newest`..`oldest` (newest first), made in the last minutes (inside the backfill horizon)."""
    now = datetime.now(UTC)
    return [
        {
            "trade_id": i,
            "side": "sell" if i % 2 else "buy",
            "size": "0.01",
            "price": f"{63000 + i % 7}.00",
            "time": (now - timedelta(milliseconds=10 * (newest - i))).isoformat().replace("+00:00", "Z"),
        }
        for i in range(newest, oldest - 1, -1)
    ]


@pytest.fixture
def tape(exchange_factory, warehouse_db, tmp_path, monkeypatch):
    """`tape(page, page, ...)`: an exchange serving those newest-first pages, one per slot, and a lander on it.

    Returns a function landing the next slot, and the database. A page is a list of prints or raw bytes.
    """

    def start(*pages: list[dict] | bytes, backfill_pages: int = 5):
        folder = tmp_path / "replay" / PRODUCT
        folder.mkdir(parents=True)
        (folder / "book_0001.json").write_bytes(coinbase_capture_bytes("book_level1_BTC-USD.json"))
        (folder / "ticker_0001.json").write_bytes(TICKER)
        for n, page in enumerate(pages, 1):
            body = page if isinstance(page, bytes) else json.dumps(page).encode()
            (folder / f"trades_{n:04d}.json").write_bytes(body)
        exchange = exchange_factory(replay_dir=folder.parent)
        monkeypatch.setenv("COINBASE_API_URL", exchange.url)
        config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
        config["symbols"] = {PRODUCT: config["symbols"][PRODUCT]}
        config["ingest"]["trades_backfill_pages_per_slot"] = backfill_pages
        path = tmp_path / "btc.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        lander = lander_for(warehouse_db, str(path))
        first = current_slot()
        slots = iter(range(len(pages)))

        def land_next():
            slot = first + timedelta(seconds=10 * next(slots))
            return lander.land(slot, now=slot)

        landers.append(lander)
        return land_next

    landers: list = []
    yield start
    for lander in landers:
        lander.close()


def landed_ids(db: str) -> list[int]:
    return [r[0] for r in rows(db, "select trade_id from raw.coinbase_trades order by trade_id")]


def trade_errors(db: str) -> list[tuple]:
    return rows(
        db,
        "select error_kind, first_trade_id, last_trade_id from raw.coinbase_ingest_errors "
        "where endpoint = 'trades' order by slot_at, first_trade_id",
    )


def open_gaps(db: str) -> list[tuple]:
    return rows(db, "select after_id, down_to_id from raw.coinbase_trade_gaps order by after_id")


def test_an_empty_page_lands_nothing_and_opens_no_gap(tape, warehouse_db) -> None:
    land = tape([], prints(105, 101), [], prints(108, 106))
    assert land().trades == 0  # a product with no print yet
    assert land().trades == 5  # the tape starts at the first page that has prints
    assert land().trades == 0  # a quiet slot
    assert land().trades == 3
    assert landed_ids(warehouse_db) == list(range(101, 109))
    assert open_gaps(warehouse_db) == [] and trade_errors(warehouse_db) == []


def test_pages_of_exactly_limit_prints_join_or_open_a_gap_of_one(tape, warehouse_db) -> None:
    first = prints(1_000 + MAX_LIMIT, 1_001)
    joined = prints(1_000 + 2 * MAX_LIMIT, 1_001 + MAX_LIMIT)  # its oldest print follows the last one landed
    short_of_one = prints(1_001 + 3 * MAX_LIMIT, 2 + 2 * MAX_LIMIT + 1_000)  # print 3001 is not on it
    land = tape(first, joined, short_of_one, [*short_of_one[:1], *prints(1_000 + 2 * MAX_LIMIT + 1, 3_001)])
    assert [land().trades for _ in range(2)] == [MAX_LIMIT, MAX_LIMIT]
    assert open_gaps(warehouse_db) == []
    assert land().trades == MAX_LIMIT + 1  # the newest page, then one page back closes the gap of one print
    assert open_gaps(warehouse_db) == []
    assert land().trades == 0  # the fourth page holds only prints landed already
    assert landed_ids(warehouse_db) == list(range(1_001, 4_002))
    assert trade_errors(warehouse_db) == []


def test_a_print_repeated_across_pages_is_landed_once(tape, warehouse_db) -> None:
    repeated = prints(150, 101)
    stale = prints(140, 120)  # a cached page behind what is landed: no gap, nothing new
    land = tape(prints(130, 101), repeated, stale, prints(180, 141))
    assert [land().trades for _ in range(4)] == [30, 20, 0, 30]
    assert landed_ids(warehouse_db) == list(range(101, 181))
    assert open_gaps(warehouse_db) == [] and trade_errors(warehouse_db) == []


def test_a_print_repeated_within_a_page_is_landed_once(tape, warehouse_db) -> None:
    page = prints(110, 101)
    land = tape([*page[:5], page[4], *page[5:]])  # print 106 served twice, side by side
    assert land().trades == 10
    assert landed_ids(warehouse_db) == list(range(101, 111))


def test_a_broken_page_is_recorded_and_its_prints_land_with_the_next_page(tape, warehouse_db) -> None:
    no_id = prints(140, 121)
    del no_id[3]["trade_id"]
    land = tape(prints(120, 101), no_id, b'[{"trade_id": 161, "time": "2026-', prints(170, 131), backfill_pages=1)
    assert land().trades == 20
    for _ in range(2):  # a print without an id, then a body cut short: nothing of either page is landed
        assert land().trades == 0
    kinds = [kind for kind, _, _ in trade_errors(warehouse_db)]
    assert kinds == ["invalid_payload", "malformed_payload"]
    assert landed_ids(warehouse_db) == list(range(101, 121))
    assert land().trades == 50  # the next page (131..170), then one page back (121..130): nothing lost
    assert landed_ids(warehouse_db) == list(range(101, 171))
    assert open_gaps(warehouse_db) == []
    reasons = [r[0] for r in rows(warehouse_db, "select reason from raw.coinbase_ingest_errors order by slot_at")]
    assert "trade_id" in reasons[0], reasons


def test_prints_the_exchange_no_longer_serves_are_recorded_as_a_range_never_invented(tape, warehouse_db) -> None:
    land = tape(prints(120, 101), prints(400, 301))  # 121..300 were never captured: paging back finds none
    assert [land().trades for _ in range(2)] == [20, 100]
    assert landed_ids(warehouse_db) == [*range(101, 121), *range(301, 401)]
    assert trade_errors(warehouse_db) == [("trades_gap_unrecoverable", 121, 300)]
    assert open_gaps(warehouse_db) == []


def test_each_run_of_ids_a_page_skips_is_its_own_record_in_the_same_slot(tape, warehouse_db) -> None:
    holed = [p for p in prints(150, 121) if p["trade_id"] not in (135, 140, 141)]
    land = tape(prints(120, 101), holed)
    assert [land().trades for _ in range(2)] == [20, 27]
    assert trade_errors(warehouse_db) == [
        ("trades_gap_unrecoverable", 135, 135),
        ("trades_gap_unrecoverable", 140, 141),
    ]
    landed = set(landed_ids(warehouse_db))
    given_up = {135, 140, 141}
    assert landed | given_up == set(range(101, 151)) and not landed & given_up  # each id landed or recorded


def test_a_quiet_tape_asks_for_short_pages_and_a_burst_past_them_is_paged_back(tape, warehouse_db) -> None:
    land = tape(prints(1_000, 1), prints(1_010, 1), prints(1_500, 1))
    assert land().trades == 1_000 and land().trades == 10  # the first page is a full 1000: nothing known yet
    burst = land()  # asks for max(100, 4 x 10) prints: the 490 new ones need one page back
    assert (burst.trades, burst.trade_pages) == (490, 2)
    assert landed_ids(warehouse_db) == list(range(1, 1_501))
    assert open_gaps(warehouse_db) == [] and trade_errors(warehouse_db) == []

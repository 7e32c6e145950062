"""Replay mode: captured bodies served byte for byte, in name order per product, repeating the last one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crypto_insights.exchange.replay import ReplayError

REAL_LEVEL1 = (
    b'{"bids":[["63217.42","0.00004377",1]],"asks":[["63217.43","0.24090999",8]],'
    b'"sequence":130929351062,"auction_mode":false,"auction":null,"time":"2026-06-19T16:43:31.844642586Z"}'
)
# level 2, spaced unlike our own output: the bytes must come back exactly as written
LEVEL2 = (
    b'{"bids": [["63217.42", "0.5", 1], ["63217.4", "1.25", 3]], "asks": [["63217.43", "0.24090999", 8], '
    b'["63218", "2", 2]], "sequence": 130929351070, "auction_mode": false, "auction": null, '
    b'"time": "2026-06-19T16:43:41.844642586Z", "future_field": 1}'
)
TICKER = (
    b'{"ask":"63217.43","bid":"63217.42","volume":"4918.33722403","trade_id":1040406590,'
    b'"price":"63212.97","size":"0.00003219","time":"2026-06-19T16:43:33.739704Z","rfq_volume":"31.625279"}'
)


@pytest.fixture
def captures(tmp_path: Path) -> Path:
    btc = tmp_path / "BTC-USD"
    btc.mkdir()
    (btc / "book_0002.json").write_bytes(LEVEL2)
    (btc / "book_0001.json").write_bytes(REAL_LEVEL1)  # name order, not creation order
    (btc / "ticker_0001.json").write_bytes(TICKER)
    xrp = tmp_path / "XRP-USD"  # not configured: a captured product.json describes it
    xrp.mkdir()
    (xrp / "book_0001.json").write_bytes(REAL_LEVEL1)
    (xrp / "product.json").write_bytes(b'{"id":"XRP-USD","quote_increment":"0.0001","base_increment":"0.000001"}')
    (tmp_path / "notes").mkdir()  # not a product id: ignored
    return tmp_path


def test_bodies_are_served_verbatim_in_name_order_repeating_the_last(exchange_factory, http, captures) -> None:
    exchange = exchange_factory(replay_dir=captures)
    url = f"{exchange.url}/products/BTC-USD/book?level=2"
    bodies = [http.get(url).content for _ in range(4)]
    assert bodies == [REAL_LEVEL1, LEVEL2, LEVEL2, LEVEL2]
    tickers = [http.get(f"{exchange.url}/products/BTC-USD/ticker").content for _ in range(2)]
    assert tickers == [TICKER, TICKER]
    assert exchange.mode == "replay" and exchange.book_steps() == {"BTC-USD": 4, "XRP-USD": 0}


def test_level_1_is_cut_from_the_captured_book(exchange_factory, http, captures) -> None:
    exchange = exchange_factory(replay_dir=captures)
    assert http.get(f"{exchange.url}/products/BTC-USD/book").content == REAL_LEVEL1  # level 1 as captured
    book = http.get(f"{exchange.url}/products/BTC-USD/book", params={"level": 1}).json()
    assert book["bids"] == [["63217.42", "0.5", 1]] and book["asks"] == [["63217.43", "0.24090999", 8]]
    assert book["sequence"] == 130929351070 and book["future_field"] == 1


def test_products_are_the_subfolders(exchange_factory, http, captures) -> None:
    exchange = exchange_factory(replay_dir=captures)
    products = http.get(f"{exchange.url}/products").json()
    assert [p["id"] for p in products] == ["BTC-USD", "XRP-USD"]
    assert products[0]["quote_increment"] == "0.01"  # BTC-USD from the config
    assert http.get(f"{exchange.url}/products/XRP-USD").content == (captures / "XRP-USD" / "product.json").read_bytes()
    assert http.get(f"{exchange.url}/products/ETH-USD/book").status_code == 404  # configured, not captured
    assert http.get(f"{exchange.url}/products/XRP-USD/ticker").status_code == 404  # no ticker captured


def test_faults_apply_to_replayed_bodies(exchange_factory, http, captures) -> None:
    exchange = exchange_factory(replay_dir=captures)
    exchange.faults.add("/products/BTC-USD/book", "missing_field", count=1, field="sequence")
    exchange.faults.add("/products/BTC-USD/book", "crossed_book", count=1)
    book = http.get(f"{exchange.url}/products/BTC-USD/book", params={"level": 2}).json()
    assert "sequence" not in book
    assert book["asks"][0][0] == "63217.41" and book["bids"][0][0] == "63217.42"
    assert http.get(f"{exchange.url}/products/BTC-USD/book", params={"level": 2}).content == LEVEL2


def test_replay_needs_product_folders(exchange_factory, tmp_path) -> None:
    with pytest.raises(ReplayError, match="does not exist"):
        exchange_factory(replay_dir=tmp_path / "missing")
    with pytest.raises(ReplayError, match="no product folders"):
        exchange_factory(replay_dir=tmp_path)


def test_replay_serves_what_the_generated_mode_served(exchange, exchange_factory, http, tmp_path) -> None:
    """Capture a few generated responses, replay them: the same bytes come back (the demo's record/replay)."""
    folder = tmp_path / "DOGE-USD"
    folder.mkdir()
    captured = [http.get(f"{exchange.url}/products/DOGE-USD/book", params={"level": 2}).content for _ in range(3)]
    for i, body in enumerate(captured):
        (folder / f"book_{i:04d}.json").write_bytes(body)
    replay = exchange_factory(replay_dir=tmp_path)
    again = [http.get(f"{replay.url}/products/DOGE-USD/book", params={"level": 2}).content for _ in range(3)]
    assert again == captured and json.loads(again[0])["bids"]

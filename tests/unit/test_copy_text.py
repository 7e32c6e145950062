from crypto_insights.landing.batch import SlotBatch, error_kind
from crypto_insights.landing.copy_writer import copy_text
from crypto_insights.landing.spool import Spool


class ExchangeUnavailable(Exception):
    pass


def test_copy_text_escapes_and_nulls() -> None:
    rows = [{"a": "tab\there", "b": None, "bids": [["1.5", "2", 1]], "c": True, "d": "back\\slash\nnew"}]
    text = copy_text(rows, ["a", "b", "bids", "c", "d"]).read()
    assert text == 'tab\\there\t\\N\t[["1.5","2",1]]\tt\tback\\\\slash\\nnew\n'


def test_error_kind_names_the_rule() -> None:
    assert error_kind(ExchangeUnavailable()) == "exchange_unavailable"
    assert error_kind(ValueError()) == "value_error"


def test_spool_round_trip_keeps_the_batch(tmp_path) -> None:
    spool = Spool(tmp_path / "spool")
    batch = SlotBatch(
        slot_at="2026-11-25T12:00:10+00:00",
        source="simulated",
        books=[{"product_id": "BTC-USD", "bids": [["77500.01", "0.5", 2]]}],
    )
    path = spool.save(batch)
    assert spool.pending() == [path]
    assert Spool.load(path) == batch

"""The dbt vars come from the one config, with stable column labels and exact numbers."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from crypto_insights.config import ConfigError, load_settings
from crypto_insights.number_syntax import DECIMAL_SYNTAX
from crypto_insights.transform.dbt_runner import dbt_command
from crypto_insights.transform.dbt_vars import VAR_NAME, band_label, dbt_vars, dbt_vars_json, usd_label


def test_every_configured_symbol_and_kpi_setting_reaches_dbt() -> None:
    settings = load_settings()
    value = json.loads(dbt_vars_json(settings))[VAR_NAME]
    assert [p["product_id"] for p in value["products"]] == list(settings.product_ids)
    btc = next(p for p in value["products"] if p["product_id"] == "BTC-USD")
    assert (Decimal(btc["price_min"]), Decimal(btc["whale_floor_usd"])) == (
        settings.symbol("BTC-USD").price_min,
        settings.symbol("BTC-USD").whale_floor_usd,
    )
    assert Decimal(value["intent_threshold"]) == settings.kpis.intent_threshold
    assert [Decimal(b["pct"]) for b in value["bands"]] == list(settings.kpis.bands_pct)
    assert [Decimal(s["usd"]) for s in value["slippage"]] == list(settings.kpis.slippage_usd)
    assert value["wall_persist_slots"] == settings.kpis.wall_persist_slots


def test_the_trade_settings_reach_dbt_exactly() -> None:
    settings = load_settings()
    value = dbt_vars(settings)
    assert {p["product_id"]: Decimal(p["whale_trade_floor_usd"]) for p in value["products"]} == {
        s.product_id: s.whale_trade_floor_usd for s in settings.symbols
    }
    assert (Decimal(value["whale_trade_k"]), value["whale_trade_lookback_minutes"]) == (
        settings.kpis.whale_trade_k,
        settings.kpis.whale_trade_lookback_minutes,
    )
    assert Decimal(value["trade_mid_warn_pct"]) == settings.kpis.trade_mid_warn_pct
    assert value["trades_backfill_hours"] == settings.ingest.trades_backfill_hours
    odd = dataclasses.replace(
        settings,
        kpis=dataclasses.replace(settings.kpis, whale_trade_k=Decimal("12.50"), trade_mid_warn_pct=Decimal("0.50")),
    )
    assert (dbt_vars(odd)["whale_trade_k"], dbt_vars(odd)["trade_mid_warn_pct"]) == ("12.5", "0.5")  # exact text


def test_the_whale_trade_lookback_must_be_whole_windows() -> None:
    settings = load_settings()
    odd = dataclasses.replace(
        settings,
        ingest=dataclasses.replace(settings.ingest, window_seconds=45),
        kpis=dataclasses.replace(settings.kpis, whale_trade_lookback_minutes=1),
    )
    with pytest.raises(ConfigError, match=r"whale_trade_lookback_minutes \(1 min\) must be a whole number"):
        dbt_vars(odd)


def test_bands_are_whole_buckets_with_bps_labels() -> None:
    value = dbt_vars(load_settings())
    assert [(b["label"], b["buckets"]) for b in value["bands"]] == [
        ("10bps", 2),
        ("50bps", 10),
        ("100bps", 20),
        ("200bps", 40),
    ]
    assert value["depth_weighted_band"] == {"pct": "1", "buckets": 20}


def test_dbt_reads_numbers_with_the_pattern_the_edge_uses() -> None:
    assert dbt_vars(load_settings())["decimal_syntax"] == DECIMAL_SYNTAX


@pytest.mark.parametrize(
    ("usd", "label"),
    [("10000", "10k"), ("100000", "100k"), ("1000000", "1m"), ("2500", "2_5k"), ("250", "250"), ("1500000", "1_5m")],
)
def test_order_size_labels(usd: str, label: str) -> None:
    assert usd_label(Decimal(usd)) == label


def test_band_labels_never_use_exponents() -> None:
    assert [band_label(Decimal(p)) for p in ("0.1", "0.25", "1", "2.0")] == ["10bps", "25bps", "100bps", "200bps"]


def test_dbt_gets_the_vars_unless_the_caller_passes_its_own() -> None:
    command = dbt_command(["build", "--select", "marts"])
    assert command[1:4] == ["build", "--select", "marts"] and command[4] == "--vars"
    assert json.loads(command[5])[VAR_NAME]["lookback_minutes"] == 2
    assert dbt_command(["build", "--vars", "{}"])[-2:] == ["--vars", "{}"]

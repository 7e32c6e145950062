"""The one config file: loaded, validated, with errors naming the file, the key and what is allowed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from crypto_insights.config import ConfigError, load_settings
from crypto_insights.paths import DEFAULT_CONFIG_PATH


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def data() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())


def test_project_config_loads() -> None:
    settings = load_settings()
    assert settings.product_ids == ("BTC-USD", "ETH-USD", "ADA-USD", "SOL-USD", "DOGE-USD")
    btc = settings.symbol("BTC-USD")
    assert (btc.price_min, btc.quote_increment, btc.base_increment) == (
        Decimal("10000"), Decimal("0.01"), Decimal("0.00000001"))
    assert settings.ingest.slots_per_window == 3
    assert settings.kpis.bands_pct == (Decimal("0.1"), Decimal("0.5"), Decimal("1"), Decimal("2"))


def test_adding_a_coin_is_a_config_change(tmp_path: Path, data: dict) -> None:
    data["symbols"]["XRP-USD"] = {"price_min": 0.1, "price_max": 20, "whale_floor_usd": 100000,
                                  "quote_increment": "0.0001", "base_increment": "0.000001"}
    settings = load_settings(write(tmp_path, data))
    assert settings.product_ids[-1] == "XRP-USD"
    xrp = settings.symbol("XRP-USD")
    assert xrp.price_min < xrp.simulated_start_price < xrp.price_max  # defaults derived for the offline exchange


def test_env_var_points_at_another_file(tmp_path: Path, data: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    data["symbols"] = {"BTC-USD": data["symbols"]["BTC-USD"]}
    monkeypatch.setenv("CRYPTO_INSIGHTS_CONFIG", str(write(tmp_path, data)))
    assert load_settings().product_ids == ("BTC-USD",)


def test_api_url_env_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COINBASE_API_URL", "http://127.0.0.1:8765/")
    assert load_settings().exchange.api_url == "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["symbols"].update({"btc-usd": d["symbols"]["BTC-USD"]}), r"`symbols\.btc-usd` is not a valid product id"),
        (lambda d: d["symbols"]["ETH-USD"].update(price_min=-1), r"`symbols\.ETH-USD\.price_min` must be a positive number"),
        (lambda d: d["symbols"]["ETH-USD"].update(price_max=1), r"`symbols\.ETH-USD\.price_max` must be above price_min"),
        (lambda d: d["symbols"]["ADA-USD"].pop("whale_floor_usd"), r"`symbols\.ADA-USD\.whale_floor_usd` is missing"),
        (lambda d: d["ingest"].update(window_seconds=25), r"`ingest\.window_seconds` must be a multiple of slot_seconds"),
        (lambda d: d["ingest"].update(top_levels="many"), r"`ingest\.top_levels` must be a whole number"),
        (lambda d: d["kpis"].update(bands_pct=[0.1, "x"]), r"`kpis\.bands_pct\.1` must be a number"),
        (lambda d: d["kpis"].update(intent_threshold=1.5), r"`kpis\.intent_threshold` must be below 1"),
        (lambda d: d.update(symbols={}), r"`symbols` must list at least one product"),
        (lambda d: d.pop("exchange"), r"`exchange` is missing"),
        (lambda d: d["exchange"].update(api_url="ftp://x"), r"`exchange\.api_url` must be an http\(s\) URL"),
    ],
)
def test_bad_config_names_file_key_and_rule(tmp_path: Path, data: dict, mutate, message: str) -> None:
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError, match=message) as err:
        load_settings(path)
    assert str(path) in str(err.value)


def test_missing_and_unparseable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("symbols: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)


def test_unknown_product_lookup_is_clear() -> None:
    with pytest.raises(ConfigError, match="'XRP-USD' is not configured; configured: BTC-USD"):
        load_settings().symbol("XRP-USD")

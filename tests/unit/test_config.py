"""The one config file: loaded, validated, every mistake one line naming the file, the key and what is allowed."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from crypto_insights.config import ConfigError, load_settings
from crypto_insights.paths import DEFAULT_CONFIG_PATH

PRODUCTS = (
    "BTC-USD",
    "ETH-USD",
    "ADA-USD",
    "SOL-USD",
    "DOGE-USD",
    "XRP-USD",
    "LTC-USD",
    "AVAX-USD",
    "LINK-USD",
    "DOT-USD",
)
ONE_LINE = re.compile(r"^\S+: `[^`]+` [^;\n]+; [^\n]+$")  # <file>: `<dotted.key>` <what is wrong>; <what is allowed>


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    return message


@pytest.fixture
def data() -> dict:
    return yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())


def test_project_config_loads() -> None:
    settings = load_settings()
    assert settings.product_ids == PRODUCTS
    btc = settings.symbol("BTC-USD")
    assert (btc.price_min, btc.quote_increment, btc.base_increment) == (
        Decimal("10000"),
        Decimal("0.01"),
        Decimal("0.00000001"),
    )
    assert settings.ingest.slots_per_window == 3
    assert settings.kpis.bands_pct == (Decimal("0.1"), Decimal("0.5"), Decimal("1"), Decimal("2"))
    assert settings.alerts.webhook_url is None and settings.alerts.email_to == ()


def test_every_coin_is_light_enough_for_the_demo() -> None:
    """Ten coins on two cores: the offline books of the added coins stay modest; each starts on its own tick."""
    for symbol in load_settings().symbols:
        assert symbol.price_min < symbol.simulated_start_price < symbol.price_max, symbol.product_id
        assert symbol.simulated_start_price % symbol.quote_increment == 0, symbol.product_id
        if symbol.product_id in PRODUCTS[5:]:
            assert 1500 <= symbol.simulated_levels_per_side <= 4000, symbol.product_id


def test_adding_a_coin_is_a_config_change(tmp_path: Path, data: dict) -> None:
    data["symbols"]["XLM-USD"] = {
        "price_min": 0.02,
        "price_max": 5,
        "whale_floor_usd": 100000,
        "quote_increment": "0.000001",
        "base_increment": "1",
    }
    settings = load_settings(write(tmp_path, data))
    assert settings.product_ids[-1] == "XLM-USD"
    xlm = settings.symbol("XLM-USD")
    assert xlm.price_min < xlm.simulated_start_price < xlm.price_max  # defaults derived for the offline exchange


def test_env_var_points_at_another_file(tmp_path: Path, data: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    data["symbols"] = {"BTC-USD": data["symbols"]["BTC-USD"]}
    monkeypatch.setenv("CRYPTO_INSIGHTS_CONFIG", str(write(tmp_path, data)))
    assert load_settings().product_ids == ("BTC-USD",)


def test_api_url_env_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COINBASE_API_URL", "http://127.0.0.1:8765/")
    assert load_settings().exchange.api_url == "http://127.0.0.1:8765"


def test_alert_webhook_may_be_null_or_come_from_the_environment(
    tmp_path: Path, data: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    data["alerts"]["webhook_url"] = None
    path = write(tmp_path, data)
    assert load_settings(path).alerts.webhook_url is None
    monkeypatch.setenv("CRYPTO_INSIGHTS_ALERT_WEBHOOK", "https://hooks.example/T0/secret")
    assert load_settings(path).alerts.webhook_url == "https://hooks.example/T0/secret"
    monkeypatch.setenv("CRYPTO_INSIGHTS_ALERT_WEBHOOK", "hooks.example")
    assert "`alerts.webhook_url` is 'hooks.example'; it must be an http(s) URL" in error_of(path)


# Unknown keys at every level: the closest known key, or the list of known ones.
@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(symbol=d.pop("symbols")), "`symbol` is not a known key; did you mean `symbols`?"),
        (
            lambda d: d.update(dashboards={}),
            "`dashboards` is not a known key; known keys: exchange, ingest, kpis, alerts, symbols",
        ),
        (
            lambda d: d["exchange"].update(max_attempt=3),
            "`exchange.max_attempt` is not a known key; did you mean `max_attempts`?",
        ),
        (
            lambda d: d["ingest"].update(top_level=100),
            "`ingest.top_level` is not a known key; did you mean `top_levels`?",
        ),
        (lambda d: d["kpis"].update(band_pct=[1]), "`kpis.band_pct` is not a known key; did you mean `bands_pct`?"),
        (
            lambda d: d["alerts"].update(webhook="https://x"),
            "`alerts.webhook` is not a known key; did you mean `webhook_url`?",
        ),
        (
            lambda d: d["symbols"]["SOL-USD"].update(whale_floor=1),
            "`symbols.SOL-USD.whale_floor` is not a known key; did you mean `whale_floor_usd`?",
        ),
        (
            lambda d: d["symbols"]["SOL-USD"].update(simulatd=d["symbols"]["SOL-USD"].pop("simulated")),
            "`symbols.SOL-USD.simulatd` is not a known key; did you mean `simulated`?",
        ),
        (
            lambda d: d["symbols"]["SOL-USD"]["simulated"].update(levels_per_sid=9),
            "`symbols.SOL-USD.simulated.levels_per_sid` is not a known key; did you mean `levels_per_side`?",
        ),
        (
            lambda d: d["symbols"]["BTC-USD"].update(price_mn=d["symbols"]["BTC-USD"].pop("price_min")),
            "`symbols.BTC-USD.price_mn` is not a known key; did you mean `price_min`?",
        ),
    ],
)
def test_unknown_keys_say_what_was_meant(tmp_path: Path, data: dict, mutate, message: str) -> None:
    mutate(data)
    assert error_of(write(tmp_path, data)).endswith(message)


# Values out of their range, and settings that must fit together.
@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["ingest"].update(top_levels=1e9),
            "`ingest.top_levels` is 1000000000.0; it must be a whole number from 10 to 5000",
        ),
        (
            lambda d: d["ingest"].update(top_levels="1e9"),
            "`ingest.top_levels` is '1e9'; it must be a whole number from 10 to 5000",
        ),
        (
            lambda d: d["ingest"].update(top_levels=5001),
            "`ingest.top_levels` is 5001; it must be a whole number from 10 to 5000",
        ),
        (lambda d: d["ingest"].update(top_levels=True), "`ingest.top_levels` is True; it must be a whole number"),
        (
            lambda d: d["ingest"].update(profile_band_pct=float("nan")),
            "`ingest.profile_band_pct` is nan; it must be a number from one bucket (0.05) to 20",
        ),
        (
            lambda d: d["exchange"].update(read_timeout_s=".inf"),
            "`exchange.read_timeout_s` is '.inf'; it must be a number from 0.1 to 120",
        ),
        (
            lambda d: d["ingest"].update(retention_days=0),
            "`ingest.retention_days` is 0; it must be a whole number from 1 to 365",
        ),
        (
            lambda d: d["ingest"].update(profile_band_pct=50),
            "`ingest.profile_band_pct` is 50; it must be a number from one bucket (0.05) to 20",
        ),
        (
            lambda d: d["ingest"].update(profile_band_pct=5.02),
            "`ingest.profile_band_pct` is 5.02 %, not a whole number of 5 bps profile buckets; it must be a multiple of 0.05",
        ),
        (
            lambda d: d["ingest"].update(profile_bucket_bps=0),
            "`ingest.profile_bucket_bps` is 0; it must be a whole number from 1 to 100",
        ),
        (
            lambda d: d["ingest"].update(slot_deadline_s=11),
            "`ingest.slot_deadline_s` is 11; it must be a number above 0 and at most slot_seconds (10)",
        ),
        (lambda d: d["ingest"].update(slot_seconds=7), "`ingest.slot_seconds` is 7; it must be a divisor of 86400"),
        (
            lambda d: d["ingest"].update(window_seconds=25),
            "`ingest.window_seconds` is 25; it must be a multiple of slot_seconds (10)",
        ),
        (
            lambda d: d["exchange"].update(max_attempts=0),
            "`exchange.max_attempts` is 0; it must be a whole number from 1 to 10",
        ),
        (
            lambda d: d["exchange"].update(max_attempts=50),
            "`exchange.max_attempts` is 50; it must be a whole number from 1 to 10",
        ),
        (
            lambda d: d["exchange"].update(requests_per_second=0),
            "`exchange.requests_per_second` is 0; it must be a number from 0.1 to 100",
        ),
        (
            lambda d: d["exchange"].update(burst=1000),
            "`exchange.burst` is 1000; it must be a whole number from 1 to 100",
        ),
        (
            lambda d: d["exchange"].update(connect_timeout_s=0),
            "`exchange.connect_timeout_s` is 0; it must be a number from 0.1 to 60",
        ),
        (
            lambda d: d["exchange"].update(read_timeout_s=3600),
            "`exchange.read_timeout_s` is 3600; it must be a number from 0.1 to 120",
        ),
        (
            lambda d: d["exchange"].update(backoff_max_s=0.1),
            "`exchange.backoff_max_s` is 0.1; it must be a number from backoff_base_s (0.25) to 600",
        ),
        (
            lambda d: d["exchange"].update(api_url="ftp://x"),
            "`exchange.api_url` is 'ftp://x'; it must be an http(s) URL",
        ),
        (
            lambda d: d["kpis"].update(bands_pct=[0.1, 7]),
            "`kpis.bands_pct.1` is 7; it must be a number above 0 and at most ingest.profile_band_pct (5)",
        ),
        (
            lambda d: d["kpis"].update(bands_pct=[0.12]),
            "`kpis.bands_pct.0` is 0.12 %, not a whole number of 5 bps profile buckets; it must be a multiple of 0.05",
        ),
        (
            lambda d: d["kpis"].update(depth_weighted_band_pct=0.33),
            "`kpis.depth_weighted_band_pct` is 0.33 %, not a whole number of 5 bps profile buckets",
        ),
        (lambda d: d["kpis"].update(bands_pct=[0.5, 0.50]), "`kpis.bands_pct.1` repeats 0.5; list each value once"),
        (lambda d: d["kpis"].update(bands_pct=[0.1, "x"]), "`kpis.bands_pct.1` is 'x'; it must be a number above 0"),
        (lambda d: d["kpis"].update(bands_pct=[]), "`kpis.bands_pct` is []; it must be a non-empty list"),
        (
            lambda d: d["kpis"].update(intent_threshold=1.5),
            "`kpis.intent_threshold` is 1.5; it must be a number above 0 and below 1",
        ),
        (
            lambda d: d["kpis"].update(support_resistance_bucket_pct=10),
            "`kpis.support_resistance_bucket_pct` is 10; it must be a number above 0 and at most ingest.profile_band_pct (5)",
        ),
        (
            lambda d: d["alerts"].update(max_drop_rate=1),
            "`alerts.max_drop_rate` is 1; it must be a number above 0 and below 1",
        ),
        (
            lambda d: d["alerts"].update(stale_after_s=0),
            "`alerts.stale_after_s` is 0; it must be a whole number from 10 to 86400",
        ),
        (
            lambda d: d["alerts"].update(email_to=["nobody"]),
            "`alerts.email_to` is ['nobody']; it must be a list of e-mail addresses",
        ),
        (
            lambda d: d["symbols"]["ETH-USD"].update(price_min=-1),
            "`symbols.ETH-USD.price_min` is -1; it must be a number above 0 and below 1000000000",
        ),
        (
            lambda d: d["symbols"]["ETH-USD"].update(price_max=1),
            "`symbols.ETH-USD.price_max` is 1; it must be a number above price_min (300) and at most 1000000000",
        ),
        (
            lambda d: d["symbols"]["ADA-USD"].pop("whale_floor_usd"),
            "`symbols.ADA-USD.whale_floor_usd` is missing; it must be a number from 1000 to 10000000000",
        ),
        (
            lambda d: d["symbols"]["ADA-USD"].update(whale_floor_usd=5),
            "`symbols.ADA-USD.whale_floor_usd` is 5; it must be a number from 1000",
        ),
        (
            lambda d: d["symbols"]["ADA-USD"].update(quote_increment="1"),
            "`symbols.ADA-USD.quote_increment` is '1'; it must be a number from 0.000000000001 to price_min (0.05)",
        ),
        (
            lambda d: d["symbols"]["ADA-USD"].update(base_increment="1e-20"),
            "`symbols.ADA-USD.base_increment` is '1e-20'; it must be a number from 0.000000000001 to 1000",
        ),
        (
            lambda d: d["symbols"]["BTC-USD"].update(price_max=1e40),
            "`symbols.BTC-USD.price_max` is 1e+40; it must be a number above price_min (10000) and at most 1000000000",
        ),
        (
            lambda d: d["symbols"]["SOL-USD"]["simulated"].update(start_price="1"),
            "`symbols.SOL-USD.simulated.start_price` is '1'; it must be a number from price_min (5) to price_max (2000)",
        ),
        (
            lambda d: d["symbols"]["SOL-USD"]["simulated"].update(start_price="145.005"),
            "`symbols.SOL-USD.simulated.start_price` is '145.005'; it must be a multiple of quote_increment (0.01)",
        ),
        (
            lambda d: d["symbols"]["SOL-USD"]["simulated"].update(levels_per_side=10**6),
            "`symbols.SOL-USD.simulated.levels_per_side` is 1000000; it must be a whole number from 10 to 100000",
        ),
        (
            lambda d: d["symbols"].update({"btc-usd": d["symbols"]["BTC-USD"]}),
            "`symbols.btc-usd` is not a valid product id; it must look like `BTC-USD`",
        ),
        (
            lambda d: d["symbols"].update({"SOL-USD": None}),
            "`symbols.SOL-USD` is empty; it must be a mapping of price_min, price_max",
        ),
        (lambda d: d.update(symbols={}), "`symbols` is empty; it must list at least one product"),
        (
            lambda d: d.update(symbols=["BTC-USD"]),
            "`symbols` is a list (['BTC-USD']); it must be a mapping of product ids",
        ),
        (lambda d: d.pop("exchange"), "`exchange` is missing; it must be a mapping of api_url, user_agent"),
        (lambda d: d.pop("alerts"), "`alerts` is missing; it must be a mapping of stale_after_s"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(tmp_path: Path, data: dict, mutate, message: str) -> None:
    mutate(data)
    error = error_of(write(tmp_path, data))
    assert message in error and ONE_LINE.match(error), error


def test_keys_written_twice_are_refused_with_both_lines(tmp_path: Path) -> None:
    text = DEFAULT_CONFIG_PATH.read_text()
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("  top_levels:"))
    path = tmp_path / "config.yaml"
    path.write_text(text.replace("  top_levels:", "  top_levels: 200\n  top_levels:", 1))
    assert error_of(path).endswith(
        f"`ingest.top_levels` is written twice (lines {first} and {first + 1}); keep one of them"
    )
    btc = next(i for i, line in enumerate(lines, 1) if line.startswith("  BTC-USD:"))
    path.write_text(text + "  BTC-USD:\n    price_min: 1\n")
    message = error_of(path)
    assert message.endswith(f"`symbols.BTC-USD` is written twice (lines {btc} and {len(lines) + 1}); keep one of them")
    assert ONE_LINE.match(message)


def test_unparseable_empty_and_missing_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found; set \\$CRYPTO_INSIGHTS_CONFIG"):
        load_settings(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("exchange:\n  burst: 15\n  symbols: [unclosed\n")
    assert re.search(r"not valid YAML at line \d+, column \d+: .+; fix the syntax there$", error_of(bad))
    bad.write_text("# nothing yet\n")
    assert "`<top level>` is empty; it must be a mapping of exchange, ingest, kpis, alerts, symbols" in error_of(bad)


def test_unknown_product_lookup_is_clear() -> None:
    with pytest.raises(ConfigError, match="'XLM-USD' is not configured; configured: BTC-USD"):
        load_settings().symbol("XLM-USD")

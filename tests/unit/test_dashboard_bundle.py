"""The Superset bundle rendered from the config: deterministic, tied by uuids, no password, one dashboard per coin."""

from __future__ import annotations

import importlib.util
import io
import re
import runpy
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from crypto_insights.config import load_settings
from crypto_insights.dashboards import bundle as bundle_module
from crypto_insights.dashboards.bundle import (
    ASSETS_DIR,
    DATABASE_FILE,
    MANAGED_BY,
    PASSWORD_MASK,
    WarehouseTarget,
    asset_uuid,
    price_format,
    render_bundle,
)
from crypto_insights.dashboards.layout import LayoutError, chart_rows
from crypto_insights.paths import DBT_PROJECT_DIR, SUPERSET_DIR
from crypto_insights.postgres.connection import Endpoint

SETTINGS = load_settings()
WAREHOUSE = WarehouseTarget.from_endpoint(Endpoint("db.internal", 6543, "crypto_reader", "s3cret-Pa55", "crypto"))
CHART_KEYS = sorted(p.name.removesuffix(".yaml.j2") for p in (ASSETS_DIR / "charts").glob("*.yaml.j2"))
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def rendered():
    return render_bundle(SETTINGS, WAREHOUSE)


def _load(rendered, name: str) -> dict:
    return yaml.safe_load(rendered.files[name])


def test_rendering_is_deterministic(rendered) -> None:
    again = render_bundle(SETTINGS, WAREHOUSE)
    assert again.files == rendered.files
    assert again.zip_bytes() == rendered.zip_bytes()


def test_the_bundle_holds_no_password_only_superset_s_mask(rendered) -> None:
    assert not [name for name, text in rendered.files.items() if "s3cret-Pa55" in text]
    database = _load(rendered, DATABASE_FILE)
    assert database["sqlalchemy_uri"] == f"postgresql+psycopg2://crypto_reader:{PASSWORD_MASK}@db.internal:6543/crypto"
    assert database["allow_dml"] is False and "password" not in database


def test_one_dashboard_per_coin_with_every_chart_refreshing_every_30_s(rendered) -> None:
    dashboards = {name: _load(rendered, name) for name in rendered.files if name.startswith("dashboards/")}
    assert len(dashboards) == len(SETTINGS.symbols)
    for ref in rendered.dashboards:
        dashboard = _load(rendered, f"dashboards/{ref.product_id}_order_book.yaml")
        assert dashboard["metadata"]["refresh_frequency"] == 30
        assert dashboard["uuid"] == ref.uuid == asset_uuid("dashboard", ref.product_id, "order_book")
        charts = [
            node["meta"]
            for node in dashboard["position"].values()
            if isinstance(node, dict) and node.get("type") == "CHART"
        ]
        assert sorted(c["uuid"] for c in charts) == sorted(asset_uuid("chart", ref.product_id, k) for k in CHART_KEYS)
        assert {c["chartId"] for c in charts} == {0}, "numeric ids are the importer's to assign"
        assert dashboard["slug"] == ref.product_id.lower()


def test_objects_are_tied_by_uuids_that_resolve(rendered) -> None:
    database_uuid = _load(rendered, DATABASE_FILE)["uuid"]
    datasets = {_load(rendered, n)["uuid"]: n for n in rendered.files if n.startswith("datasets/")}
    seen = set()
    for name in rendered.files:
        if name == "metadata.yaml":
            assert _load(rendered, name)["type"] == "assets"
            continue
        data = _load(rendered, name)
        assert UUID.match(data["uuid"]) and data["uuid"] not in seen, name
        seen.add(data["uuid"])
        if name.startswith("datasets/"):
            assert data["database_uuid"] == database_uuid
        if name.startswith("charts/"):
            assert data["dataset_uuid"] in datasets, name
            assert data["certified_by"] == MANAGED_BY and data["is_managed_externally"] is True


def test_each_chart_queries_only_its_own_coin(rendered) -> None:
    for symbol in SETTINGS.symbols:
        for key in CHART_KEYS:
            chart = _load(rendered, f"charts/{symbol.product_id}/{key}.yaml")
            filters = chart["params"]["adhoc_filters"]
            assert {"subject": "product_id", "operator": "==", "comparator": symbol.product_id}.items() <= filters[
                0
            ].items(), key


def test_every_dataset_is_a_plain_select_of_a_dbt_mart(rendered) -> None:
    """No logic in the BI layer: each dataset is a mart as dbt built it (no virtual dataset SQL)."""
    marts = {p.stem for p in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql")}
    datasets = [_load(rendered, name) for name in rendered.files if name.startswith("datasets/")]
    assert datasets and all(d["sql"] is None and d["schema"] == "marts" for d in datasets)
    assert {d["table_name"] for d in datasets} <= marts


def test_band_and_order_size_labels_follow_the_config(rendered) -> None:
    bands_pct = (*SETTINGS.kpis.bands_pct, SETTINGS.kpis.bands_pct[-1] * 2)  # one more band: 4 %
    wider = render_bundle(replace(SETTINGS, kpis=replace(SETTINGS.kpis, bands_pct=bands_pct)), WAREHOUSE)
    metrics = {m["metric_name"] for m in _load(wider, "datasets/crypto_warehouse/fct_order_book_30s.yaml")["metrics"]}
    assert "imbalance_400bps" in metrics and "imbalance_400bps" not in {
        m["metric_name"] for m in _load(rendered, "datasets/crypto_warehouse/fct_order_book_30s.yaml")["metrics"]
    }


def test_adding_a_symbol_adds_its_files_and_changes_no_other(rendered) -> None:
    assert "NEW-USD" not in SETTINGS.product_ids
    new = replace(SETTINGS.symbols[-1], product_id="NEW-USD")
    grown = render_bundle(replace(SETTINGS, symbols=(*SETTINGS.symbols, new)), WAREHOUSE)
    added = set(grown.files) - set(rendered.files)
    assert added == {f"charts/NEW-USD/{k}.yaml" for k in CHART_KEYS} | {"dashboards/NEW-USD_order_book.yaml"}
    assert all(grown.files[name] == text for name, text in rendered.files.items())


def test_prices_show_to_the_coin_s_tick() -> None:
    assert price_format(SETTINGS.symbol("BTC-USD")) == ",.2f"
    assert price_format(SETTINGS.symbol("DOGE-USD")) == ",.5f"


def test_the_zip_is_what_superset_reads(rendered) -> None:
    with zipfile.ZipFile(io.BytesIO(rendered.zip_bytes())) as archive:
        names = archive.namelist()
    assert all(n.startswith(f"{bundle_module.BUNDLE_ROOT}/") for n in names)
    assert f"{bundle_module.BUNDLE_ROOT}/metadata.yaml" in names


def test_a_layout_places_every_chart_exactly_once() -> None:
    charts = {"a": ("u1", "A"), "b": ("u2", "B")}
    assert [
        [c.key for c in row] for row in chart_rows([{"height": 10, "charts": [["a", 6], ["b", 6]]}], charts, "t")
    ] == [["a", "b"]]
    for layout, message in (
        ([{"height": 10, "charts": [["a", 6]]}], "not placed"),
        ([{"height": 10, "charts": [["a", 6], ["b", 6], ["a", 1]]}], "placed twice"),
        ([{"height": 10, "charts": [["a", 8], ["b", 6]]}], "14 columns wide"),
        ([{"height": 10, "charts": [["a", 6], ["c", 6]]}], "not a chart template"),
    ):
        with pytest.raises(LayoutError, match=message):
            chart_rows(layout, charts, "t")


def test_the_provisioning_script_agrees_with_the_renderer() -> None:
    spec = importlib.util.spec_from_file_location("provision", SUPERSET_DIR / "provision.py")
    provision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(provision)
    assert (provision.MANAGED_BY, provision.DATABASE_FILE) == (MANAGED_BY, DATABASE_FILE)


def test_superset_config_needs_its_secrets_and_caches_shorter_than_the_refresh(monkeypatch) -> None:
    path = str(SUPERSET_DIR / "superset_config.py")
    monkeypatch.delenv("SUPERSET_SECRET_KEY", raising=False)
    monkeypatch.setenv("SUPERSET_DATABASE_URI", "postgresql+psycopg2://superset_app:x@127.0.0.1/superset")
    with pytest.raises(RuntimeError, match="SUPERSET_SECRET_KEY"):
        runpy.run_path(path)
    monkeypatch.setenv("SUPERSET_SECRET_KEY", "k" * 40)
    config = runpy.run_path(path)
    assert config["DATA_CACHE_CONFIG"]["CACHE_DEFAULT_TIMEOUT"] < 30
    assert config["WTF_CSRF_ENABLED"] is True
    policy = str(config["TALISMAN_CONFIG"])
    assert "scarf" not in policy and "https://" not in policy


def test_templates_are_all_used() -> None:
    templates = {p.relative_to(ASSETS_DIR).as_posix() for p in Path(ASSETS_DIR).rglob("*.j2")}
    assert "dashboards/order_book.yaml.j2" in templates and "_macros.j2" in templates
    assert len([t for t in templates if t.startswith("charts/")]) == len(CHART_KEYS) == 17


# ------------------------------------------------------------------------------------------------- the trade tape
TRADE_CHARTS = {  # chart template -> (dataset it reads, its metrics)
    "trade_vwap": ("fct_order_book_30s", ["mid", "taker_buy_vwap", "taker_sell_vwap"]),
    "taker_volume": ("fct_trades_30s", ["taker_buy_volume_usd", "taker_sell_volume_usd"]),
    "order_flow": ("fct_trades_30s", ["order_flow_imbalance"]),
    "whale_trades": ("fct_whale_trades", None),
}


def _dataset(rendered, key: str) -> dict:
    return _load(rendered, f"datasets/crypto_warehouse/{key}.yaml")


def test_uuids_never_move(rendered) -> None:
    """Superset finds existing objects by uuid: these were imported before and must keep theirs."""
    assert asset_uuid("dashboard", "BTC-USD", "order_book") == "3400803f-ae9e-5a5a-8eb4-d24f586464ff"
    assert asset_uuid("chart", "BTC-USD", "price") == "692db854-bd0d-54f3-9245-738cac454257"
    assert _dataset(rendered, "fct_order_book_30s")["uuid"] == "5ef1d033-8cf3-529f-b239-176c5091ecba"
    for key in TRADE_CHARTS:
        assert _load(rendered, f"charts/BTC-USD/{key}.yaml")["uuid"] == asset_uuid("chart", "BTC-USD", key)


def test_every_coin_shows_its_trade_tape(rendered) -> None:
    datasets = {_load(rendered, n)["uuid"]: _load(rendered, n) for n in rendered.files if n.startswith("datasets/")}
    for symbol in SETTINGS.symbols:
        for key, (dataset_key, metrics) in TRADE_CHARTS.items():
            chart = _load(rendered, f"charts/{symbol.product_id}/{key}.yaml")
            dataset = datasets[chart["dataset_uuid"]]
            assert dataset["table_name"] == dataset_key and dataset["schema"] == "marts", key
            if metrics is not None:
                assert chart["params"]["metrics"] == metrics, key
        whales = _load(rendered, f"charts/{symbol.product_id}/whale_trades.yaml")
        assert f"${symbol.whale_trade_floor_usd}" in whales["description"]
        assert {"traded_at", "taker_side", "notional", "whale_rule"} <= set(whales["params"]["all_columns"])


def test_trade_datasets_are_plain_marts_and_their_metrics_use_their_columns(rendered) -> None:
    for key in ("fct_trades_30s", "fct_whale_trades", "fct_order_book_30s"):
        dataset = _dataset(rendered, key)
        assert (dataset["table_name"], dataset["sql"]) == (key, None), "a physical dataset: the mart as it is"
        columns = {c["column_name"] for c in dataset["columns"]}
        for metric in dataset["metrics"]:
            used = set(re.findall(r"[a-z_0-9]+", metric["expression"].lower())) - {
                "sum",
                "avg",
                "max",
                "nullif",
                "count",
            }
            assert used - {"0"} <= columns, (key, metric["metric_name"], used - columns)


def test_vwap_means_the_trade_vwap_and_the_book_keeps_its_depth_weighted_name(rendered) -> None:
    for name, text in rendered.files.items():
        assert "VWAP by side" not in text, name
        for line in text.splitlines():
            if "VWAP" in line:
                assert "taker" in line.lower() or "trade" in line.lower(), (name, line)
    price = _load(rendered, "charts/BTC-USD/price.yaml")
    assert "depth-weighted" in price["slice_name"] and "VWAP" not in price["slice_name"]
    book = {m["metric_name"]: m for m in _dataset(rendered, "fct_order_book_30s")["metrics"]}
    assert book["taker_buy_vwap"]["expression"] == "SUM(taker_buy_quote_volume) / NULLIF(SUM(taker_buy_base_volume), 0)"
    assert "depth-weighted" in book["bid_depth_weighted_price"]["verbose_name"]


def test_order_flow_sits_beside_the_book_imbalance(rendered) -> None:
    dashboard = _load(rendered, "dashboards/BTC-USD_order_book.yaml")
    rows = [
        node["children"]
        for node in dashboard["position"].values()
        if isinstance(node, dict) and node.get("type") == "ROW"
    ]
    assert ["CHART-intent", "CHART-order-flow"] in rows
    colors = dashboard["metadata"]["label_colors"]
    assert colors["taker_buy_volume_usd"] == colors["buy"] and colors["taker_sell_vwap"] == colors["sell"]


def test_every_dashboard_shows_the_data_age_red_past_the_stall_threshold(rendered) -> None:
    threshold = SETTINGS.alerts.stale_after_s
    dataset = _load(rendered, "datasets/crypto_warehouse/fct_order_book_latest.yaml")
    assert {c["column_name"] for c in dataset["columns"]} >= {"data_age_s", "last_slot_at"}  # computed by dbt
    for symbol in SETTINGS.symbols:
        chart = _load(rendered, f"charts/{symbol.product_id}/data_age.yaml")
        assert chart["dataset_uuid"] == dataset["uuid"]
        rules = {(r["operator"], r["targetValue"], r["colorScheme"]) for r in chart["params"]["conditional_formatting"]}
        assert rules == {(">", threshold, "colorError"), ("≤", threshold, "colorSuccess")}
        assert chart["params"]["metric"]["sqlExpression"] == "max(data_age_s)"
        assert f"red past {threshold} s" in chart["params"]["subheader"]


def test_labels_render_the_kpi_definitions_never_restate_them(rendered) -> None:
    """The depth-weighted band comes from the config: its labels render it, so changing it changes them."""
    dataset = _load(rendered, "datasets/crypto_warehouse/fct_order_book_30s.yaml")
    names = {m["metric_name"]: m["verbose_name"] for m in dataset["metrics"]}
    assert names["bid_depth_weighted_price"] == "Bid depth-weighted price (±1 %)"
    assert load_settings().kpis.depth_weighted_band_pct == 1
    for path in (SUPERSET_DIR / "assets").rglob("*.j2"):
        assert "1 %" not in path.read_text().replace("{{", "").replace("±0.1 %", ""), path

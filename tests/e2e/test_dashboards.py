"""Every coin's dashboard in a real Superset, opened in headless Chromium over marts built by the real dbt project.

One Superset per session (tests/e2e/conftest.py): bootstrapped from the config, reading a fresh warehouse database
as crypto_reader, with slots landed from the offline exchange and `dbt build` run on them.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
from pathlib import Path

import psycopg2
import pytest
import yaml
from tests.e2e.superset_helpers import ARTIFACTS, VIEWPORT, SupersetApi, SupersetStack, login, visit_dashboard

from crypto_insights.config import load_settings
from crypto_insights.dashboards.bootstrap import bootstrap
from crypto_insights.dashboards.bundle import ASSETS_DIR, DATABASE_KEY, asset_uuid, dashboard_slug
from crypto_insights.dashboards.environment import VIEWER_USER, viewer_password
from crypto_insights.paths import DEFAULT_CONFIG_PATH, REPO_ROOT
from crypto_insights.postgres.connection import endpoint

pytestmark = pytest.mark.e2e

SETTINGS = load_settings()
CHART_KEYS = sorted(p.name.removesuffix(".yaml.j2") for p in (ASSETS_DIR / "charts").glob("*.yaml.j2"))
DOCS_SCREENSHOT = REPO_ROOT / "docs" / "images" / "dashboard.png"
# A chart may show Superset's "no results" state only when the warehouse truly has nothing for it (a calm market
# without whale walls); the test then proves the mart is empty for that coin, so the empty chart is the truth.
MAY_BE_EMPTY = {
    "whale_walls": "select count(*) from marts.fct_whale_walls where product_id = %s "
    "and last_seen_at >= now() - interval '60 minutes'",
    "whale_trades": "select count(*) from marts.fct_whale_trades where product_id = %s "
    "and traded_at >= now() - interval '60 minutes'",
}


@pytest.fixture(scope="session")
def api(superset_stack: SupersetStack) -> SupersetApi:
    return SupersetApi(superset_stack.url, superset_stack.username, superset_stack.password)


def _reader_rows(stack: SupersetStack, statement: str, params: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(**stack.reader.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall()
    finally:
        conn.close()


def test_bootstrap_provisions_a_dashboard_per_configured_coin(superset_stack: SupersetStack) -> None:
    report = superset_stack.bootstrap
    assert report.imported["dashboards"] == len(SETTINGS.symbols)
    assert report.imported["charts"] == len(SETTINGS.symbols) * len(CHART_KEYS)
    assert report.imported["databases"] == 1
    assert (report.warehouse_user, report.warehouse_read_only) == ("crypto_reader", True)
    assert [ref.slug for ref in report.dashboards] == [dashboard_slug(p) for p in SETTINGS.product_ids]
    assert report.admin in {"created", "unchanged", "password reset"}


def test_every_dashboard_renders_every_chart_with_data(
    superset_stack: SupersetStack, api: SupersetApi, browser
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    login(page, superset_stack.url, superset_stack.username, superset_stack.password)
    render_seconds, query_ms, first_queries = [], [], []
    charts_with_data: set[str] = set()
    complete: list[str] = []  # dashboards where every chart has rows: the README shows the first of them
    uuids = {ids[0]: uuid for uuid, ids in _superset_objects()["charts"].items()}
    try:
        for product_id in SETTINGS.product_ids:
            slug = dashboard_slug(product_id)
            charts = {c["id"]: c for c in api.dashboard_charts(slug)}
            assert len(charts) == len(CHART_KEYS), f"{slug}: {len(charts)} charts on the dashboard"
            visit = visit_dashboard(page, superset_stack.url, slug, len(charts), ARTIFACTS / f"{slug}.png")
            render_seconds.append(visit.seconds_to_rendered)
            names = {cid: c["slice_name"] for cid, c in charts.items()}

            assert sorted(h["chart_id"] for h in visit.holders) == sorted(charts), slug
            broken = [names[h["chart_id"]] for h in visit.holders if h["error"] or not (h["drawn"] or h["empty"])]
            assert not broken, f"{slug}: charts in an error state or not drawn: {broken}"

            # every chart queried (a 30 s auto-refresh during a slow visit may query some twice)
            assert {q.slice_id for q in visit.queries} == set(charts), f"{slug}: charts that sent no query"
            failed = [(names.get(q.slice_id), q.status, q.error) for q in visit.queries if q.status != 200 or q.error]
            assert not failed, f"{slug}: chart queries failed: {failed}"
            query_ms += [q.ms for q in visit.queries]
            first_queries = first_queries or visit.queries

            for query in visit.queries:
                key = _chart_key(product_id, uuids[query.slice_id])
                if query.rows:
                    charts_with_data.add(key)
                    continue
                assert key in MAY_BE_EMPTY, f"{slug}: {names[query.slice_id]} returned no rows"
                assert _reader_rows(superset_stack, MAY_BE_EMPTY[key], (product_id,)) == [(0,)], (
                    f"{slug}: {names[query.slice_id]} shows nothing but the warehouse has rows for it"
                )
            assert "SIMULATED: offline exchange" in page.inner_text("body"), f"{slug}: no data-source label"
            if all(q.rows for q in visit.queries):
                complete.append(slug)
    finally:
        context.close()
    assert charts_with_data == set(CHART_KEYS), f"never drawn with data: {set(CHART_KEYS) - charts_with_data}"
    if not DOCS_SCREENSHOT.exists() or os.environ.get("CRYPTO_INSIGHTS_UPDATE_DOCS_SCREENSHOT"):
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shown = complete[0] if complete else dashboard_slug(SETTINGS.product_ids[0])
        shutil.copyfile(ARTIFACTS / f"{shown}.png", DOCS_SCREENSHOT)
    # the same chart queries one at a time, past the cache: each request's own cost, without the page's burst
    serial_ms = [api.chart_data(q.body)[0] for q in first_queries if q.body]
    print(
        f"\ndashboards rendered in {', '.join(f'{s:.1f}s' for s in render_seconds)}; "
        f"{len(query_ms)} chart data requests in the page: {_spread(query_ms)}; "
        f"replayed one at a time without cache: {_spread(serial_ms)}"
    )


def _spread(ms: list[float]) -> str:
    p95 = statistics.quantiles(ms, n=20)[-1] if len(ms) > 1 else ms[0]
    return f"median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms"


def _chart_key(product_id: str, chart_uuid: str) -> str:
    """The template a chart was rendered from, found by its uuid."""
    for key in CHART_KEYS:
        if chart_uuid == asset_uuid("chart", product_id, key):
            return key
    raise AssertionError(f"chart {chart_uuid} of {product_id} does not come from a template")


def test_dashboards_refresh_every_30_seconds(superset_stack: SupersetStack, api: SupersetApi) -> None:
    for product_id in SETTINGS.product_ids:
        dashboard = api.dashboard(dashboard_slug(product_id))
        metadata = yaml.safe_load(dashboard["json_metadata"])
        assert metadata["refresh_frequency"] == 30, product_id
        assert dashboard["dashboard_title"] == f"{product_id} order book"
        assert dashboard["published"] is True


def test_superset_reads_through_the_read_only_role(superset_stack: SupersetStack, api: SupersetApi) -> None:
    database_id = api.database_id("Crypto warehouse (read-only)")
    who = api.sql(database_id, "select current_role as who")  # Superset refuses current_user(), not this
    assert who.status_code == 200, who.text
    assert who.json()["data"] == [{"who": "crypto_reader"}]
    read_only = api.sql(database_id, "show transaction_read_only")
    assert read_only.json()["data"] == [{"transaction_read_only": "on"}], read_only.text
    # Superset would refuse a write itself (allow_dml is off); reading raw gets as far as PostgreSQL, which refuses
    raw = api.sql(database_id, "select count(*) from raw.coinbase_book_snapshots")
    assert raw.status_code != 200 and "permission denied for schema raw" in raw.text, raw.text

    conn = psycopg2.connect(**superset_stack.reader.connect_kwargs())
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("select count(*) from marts.fct_order_book_30s")
            assert cur.fetchone()[0] > 0
            for statement in (
                "select count(*) from raw.coinbase_book_snapshots",
                "create table marts.e2e_probe (x int)",
                "delete from marts.fct_order_book_30s",
                # even with read-only transactions switched off, the role holds no write privilege
                "set transaction_read_only = off; insert into marts.dim_symbols (product_id) values ('XX-USD')",
            ):
                with pytest.raises(psycopg2.Error) as failure:
                    cur.execute(statement)
                assert failure.value.pgcode in {"42501", "25006"}, (statement, failure.value.pgerror)
    finally:
        conn.close()


# Colour assignments the dashboard page itself writes back on a visit (Superset's shared label colours): state of
# the viewer's session, not the definition, so a re-import that resets them changes nothing that was defined.
VIEW_STATE_KEYS = {"color_scheme_domain", "map_label_colors", "shared_label_colors"}


def _definition(json_metadata: str) -> dict:
    return {k: v for k, v in json.loads(json_metadata).items() if k not in VIEW_STATE_KEYS}


def _superset_objects() -> dict[str, dict[str, tuple]]:
    """Every dashboard and chart in Superset's metadata database: uuid -> (id, title, layout or params)."""
    conn = psycopg2.connect(**endpoint("superset").connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute("select uuid::text, id, dashboard_title, position_json, json_metadata from dashboards")
            dashboards = {r[0]: (r[1], r[2], json.loads(r[3]), _definition(r[4])) for r in cur.fetchall()}
            cur.execute("select uuid::text, id, slice_name, params, datasource_id from slices")
            charts = {r[0]: tuple(r[1:]) for r in cur.fetchall()}
    finally:
        conn.close()
    return {"dashboards": dashboards, "charts": charts}


def test_adding_a_symbol_adds_its_dashboard_and_nothing_else(
    superset_stack: SupersetStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["symbols"]["XLM-USD"] = {
        "price_min": 0.02,
        "price_max": 5,
        "whale_floor_usd": 100000,
        "quote_increment": "0.000001",
        "base_increment": "1",
        "simulated": {"start_price": "0.300000", "levels_per_side": 1500},
    }
    path = tmp_path / "crypto_insights.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    before = _superset_objects()

    monkeypatch.setenv("CRYPTO_INSIGHTS_CONFIG", str(path))
    added = bootstrap(reader=superset_stack.reader)
    after = _superset_objects()
    assert added.missing_tables == [] and added.missing_columns == {}, (added.missing_tables, added.missing_columns)
    new_dashboards = set(after["dashboards"]) - set(before["dashboards"])
    new_charts = set(after["charts"]) - set(before["charts"])
    assert new_dashboards == {asset_uuid("dashboard", "XLM-USD", "order_book")}
    assert new_charts == {asset_uuid("chart", "XLM-USD", key) for key in CHART_KEYS}
    for kind in ("dashboards", "charts"):
        unchanged = {uuid: after[kind][uuid] for uuid in before[kind]}
        assert unchanged == before[kind], f"re-running the bootstrap changed existing {kind}"
    assert after["dashboards"][asset_uuid("dashboard", "XLM-USD", "order_book")][1] == "XLM-USD order book"

    monkeypatch.delenv("CRYPTO_INSIGHTS_CONFIG")
    removed = bootstrap(reader=superset_stack.reader)
    assert removed.pruned.get("dashboards") == ["XLM-USD order book"]
    assert len(removed.pruned.get("charts", [])) == len(CHART_KEYS)
    restored = _superset_objects()
    assert restored["dashboards"] == before["dashboards"] and restored["charts"] == before["charts"]


def test_the_database_connection_is_managed_by_the_bundle(superset_stack: SupersetStack, api: SupersetApi) -> None:
    database = api.get(f"/api/v1/database/{api.database_id('Crypto warehouse (read-only)')}")["result"]
    assert database["uuid"] == asset_uuid("database", DATABASE_KEY)
    assert database["allow_dml"] is False and database["is_managed_externally"] is True
    assert superset_stack.reader.password not in str(database)


def test_the_viewer_sees_every_dashboard_and_changes_nothing(superset_stack: SupersetStack, api: SupersetApi, browser):
    """The read-only login the bootstrap creates: the project's dashboards render, every write and SQL Lab refused."""
    assert superset_stack.bootstrap.viewer in {"created", "unchanged", "password reset"}
    viewer = SupersetApi(superset_stack.url, VIEWER_USER, viewer_password())
    slug = dashboard_slug(SETTINGS.product_ids[0])
    assert {d["slug"] for d in viewer.dashboards()} >= {dashboard_slug(p) for p in SETTINGS.product_ids}
    charts = viewer.dashboard_charts(slug)
    assert len(charts) == len(CHART_KEYS)

    dashboard_id, chart_id = api.dashboard(slug)["id"], charts[0]["id"]
    database_id = api.database_id("Crypto warehouse (read-only)")
    url, session = superset_stack.url, viewer.session
    refused = {
        "edit a dashboard": session.put(f"{url}/api/v1/dashboard/{dashboard_id}", json={"dashboard_title": "x"}),
        "edit a chart": session.put(f"{url}/api/v1/chart/{chart_id}", json={"slice_name": "x"}),
        "create a chart": session.post(f"{url}/api/v1/chart/", json={"slice_name": "x", "viz_type": "table"}),
        "delete a dashboard": session.delete(f"{url}/api/v1/dashboard/{dashboard_id}"),
        "run SQL": viewer.sql(database_id, "select 1"),
        "list databases' SQL Lab": session.get(f"{url}/api/v1/sqllab/"),
    }
    allowed = {what: r.status_code for what, r in refused.items() if r.status_code not in (401, 403, 404)}
    assert not allowed, f"the viewer could: {allowed}"
    assert api.dashboard(slug)["dashboard_title"] == f"{SETTINGS.product_ids[0]} order book"  # nothing changed

    # in the browser: every chart of the dashboard draws for the viewer, and SQL Lab is not in the menu (the admin's
    # screenshot of the same dashboard, with SQL Lab in its menu, is taken by the rendering test above)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        login(page, superset_stack.url, VIEWER_USER, viewer_password())
        shot = ARTIFACTS / f"{slug}-as-viewer.png"
        visit = visit_dashboard(page, superset_stack.url, slug, len(charts), shot)
        broken = [h["chart_id"] for h in visit.holders if h["error"] or not (h["drawn"] or h["empty"])]
        assert not broken, f"viewer: charts in an error state or not drawn: {broken}"
        assert shot.exists()
        menu = page.inner_text("header") if page.query_selector("header") else page.inner_text("body")
        assert "SQL" not in menu, f"the viewer's menu: {menu[:300]}"
    finally:
        context.close()


def test_every_worker_shares_the_chart_data_cache(superset_stack: SupersetStack, api: SupersetApi) -> None:
    """Gunicorn's workers read one cache: a chart's data asked again is served from it, whichever worker answers."""
    datasets = api.get("/api/v1/dataset/", q="(page_size:100,columns:!(id,table_name))")["result"]
    dataset_id = next(d["id"] for d in datasets if d["table_name"] == "fct_order_book_30s")
    form = {
        "datasource": {"id": dataset_id, "type": "table"},
        "queries": [
            {
                "columns": ["product_id"],
                "metrics": [{"expressionType": "SQL", "sqlExpression": "count(*)", "label": "windows"}],
                "orderby": [["product_id", True]],
                "row_limit": 100,
            }
        ],
        "result_format": "json",
        "result_type": "full",
    }
    _, first = api.chart_data(form, force=True)  # computed, and cached
    answers = [api.chart_data(form, force=False)[1] for _ in range(8)]  # spread over the workers by gunicorn
    cached = [a["result"][0]["is_cached"] for a in answers]
    assert all(cached), f"served from the cache: {cached} (a per-process cache misses on the other worker)"
    assert all(a["result"][0]["data"] == first["result"][0]["data"] for a in answers)

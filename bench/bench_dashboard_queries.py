"""Dashboard queries over the history bench_dbt generated, 30 days by default (docs/architecture.md#performance-targets:
every chart query p95 <= 250 ms): each chart's SQL exactly as Superset issues it, run as the dashboards' read-only role.

Superset is provisioned on the benchmark's warehouse (bench_dbt builds the history and calls `run()`) and each coin's
dashboard is opened in headless Chromium; the chart-data requests the page sends are replayed with
`result_type: "query"`, which returns the SQL Superset runs for them (time ranges rendered against the clock, as the
page's own requests were). Each statement then runs `repeat` times on one `crypto_reader` connection: p50/p95 per
chart and over all charts. The same requests through Superset's API with `force` (past its cache) give the
end-to-end cost for comparison: SQL, Superset's query building and post-processing, HTTP.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import psycopg2

from crypto_insights.config import load_settings
from crypto_insights.dashboards.bootstrap import bootstrap
from crypto_insights.dashboards.bundle import dashboard_slug
from crypto_insights.dashboards.environment import ADMIN_USER, admin_password
from crypto_insights.dashboards.server import start, stop
from crypto_insights.postgres.connection import endpoint
from crypto_insights.postgres.server import free_port

TARGET = "every chart query p95 <= 250 ms over 30 days of data"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _statements(api, body: dict) -> list[str]:
    answer = api.session.post(
        f"{api.base_url}/api/v1/chart/data", timeout=60, json={**body, "result_type": "query", "force": True}
    )
    answer.raise_for_status()
    return [r["query"] for r in answer.json()["result"]]


def _chart_bodies(url: str, api, product_ids: tuple[str, ...]) -> list[tuple[str, str, dict]]:
    """(product, chart, query context) of every chart on every coin's dashboard, as the browser requested them."""
    from playwright.sync_api import sync_playwright
    from tests.e2e.superset_helpers import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, login, visit_dashboard

    bodies = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="bench-shot-") as shots:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=VIEWPORT).new_page()
        login(page, url, ADMIN_USER, admin_password())
        for product_id in product_ids:
            slug = dashboard_slug(product_id)
            charts = {c["id"]: c["slice_name"] for c in api.dashboard_charts(slug)}
            visit = visit_dashboard(page, url, slug, len(charts), Path(shots) / f"{slug}.png", timeout_s=180)
            seen = set()
            for query in visit.queries:
                if query.body and query.slice_id not in seen:
                    seen.add(query.slice_id)
                    name = str(charts.get(query.slice_id, query.slice_id))
                    bodies.append((product_id, name.split(" · ", 1)[-1], query.body))
        browser.close()
    return bodies


def run(repeat: int = 20) -> dict[str, dict]:
    """Needs the benchmark's warehouse (CRYPTO_INSIGHTS_HOME of bench_dbt) with its history built. Sections: the
    summary and one line per chart over all coins."""
    from tests.e2e.superset_helpers import SupersetApi

    settings = load_settings()
    warehouse = endpoint("reader", "crypto")  # the benchmark's, whatever $CRYPTO_INSIGHTS_READER_URL says
    bootstrap(settings, reader=warehouse)
    started = start(bind_port=free_port())
    per_chart: dict[tuple[str, str], list[float]] = {}
    api_ms: list[float] = []
    try:
        api = SupersetApi(started.url, ADMIN_USER, admin_password())
        bodies = _chart_bodies(started.url, api, settings.product_ids)
        reader = psycopg2.connect(**warehouse.connect_kwargs())
        reader.autocommit = True
        with reader.cursor() as cur:
            for product_id, chart, body in bodies:
                for statement in _statements(api, body):
                    cur.execute(statement)  # once unmeasured: the first run of a statement plans it cold
                    cur.fetchall()
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        cur.execute(statement)
                        cur.fetchall()
                        per_chart.setdefault((product_id, chart), []).append((time.perf_counter() - t0) * 1000)
                api_ms.append(api.chart_data(body, force=True)[0])
        reader.close()
    finally:
        stop()
    everything = [ms for times in per_chart.values() for ms in times]
    p95s = {key: _percentile(times, 0.95) for key, times in per_chart.items()}
    slowest = sorted(p95s.items(), key=lambda item: -item[1])[:3]
    summary = {
        "charts": f"{len(per_chart)} with a query, on {len(settings.product_ids)} dashboards",
        "runs_per_chart": repeat,
        "sql_p50_ms": round(statistics.median(everything), 1),
        "sql_p95_ms": round(_percentile(everything, 0.95), 1),
        "worst_chart_p95_ms": round(slowest[0][1], 1),
        "slowest_charts_p95_ms": ", ".join(f"{p} {c} {ms:.1f}" for (p, c), ms in slowest),
        "superset_api_uncached_p50_ms": round(statistics.median(api_ms)),
        "superset_api_uncached_p95_ms": round(_percentile(api_ms, 0.95)),
        "target": TARGET,
    }
    by_chart: dict[str, dict[str, list[float]]] = {}
    for (product_id, chart), times in per_chart.items():
        by_chart.setdefault(chart, {})[product_id] = times
    lines = {}
    for chart, coins in sorted(by_chart.items()):
        worst_coin, worst = max(coins.items(), key=lambda item: _percentile(item[1], 0.95))
        every = [ms for times in coins.values() for ms in times]
        lines[chart] = (
            f"p50 {statistics.median(every):.1f} / p95 {_percentile(every, 0.95):.1f} ms; "
            f"worst {worst_coin} p95 {_percentile(worst, 0.95):.1f} ms"
        )
    return {"dashboard queries": summary, "dashboard queries: per chart, all coins (SQL as issued)": lines}

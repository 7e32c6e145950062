"""Talking to a running Superset from the tests: its REST API (JWT + CSRF) and its dashboards in Chromium."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from crypto_insights.dashboards.bootstrap import BootstrapReport
from crypto_insights.paths import REPO_ROOT
from crypto_insights.postgres.connection import Endpoint

ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "superset"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 2300}  # tall enough that every chart is in view (dashboards virtualize)


@dataclass
class SupersetStack:
    """The session's running Superset and what it took to get there."""

    url: str
    username: str
    password: str
    reader: Endpoint
    bootstrap: BootstrapReport
    timings: dict[str, float] = field(default_factory=dict)


class SupersetApi:
    """A logged-in REST session: bearer token for reads, CSRF token + session cookie for writes."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        login = self.session.post(
            f"{base_url}/api/v1/security/login",
            timeout=30,
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        )
        login.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        csrf = self.session.get(f"{base_url}/api/v1/security/csrf_token/", timeout=30)
        csrf.raise_for_status()
        self.session.headers.update({"X-CSRFToken": csrf.json()["result"], "Referer": base_url})

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.session.get(f"{self.base_url}{path}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def dashboard(self, slug: str) -> dict[str, Any]:
        return self.get(f"/api/v1/dashboard/{slug}")["result"]

    def dashboard_charts(self, slug: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/dashboard/{slug}/charts")["result"]

    def dashboards(self) -> list[dict[str, Any]]:
        found = self.get("/api/v1/dashboard/", q="(page_size:100,columns:!(id,uuid,slug,dashboard_title,changed_on))")
        return found["result"]

    def chart_data(self, query_context: dict[str, Any], *, force: bool = True) -> tuple[float, dict[str, Any]]:
        """Run a chart's query as the browser did (bypassing the data cache unless told); returns (ms, answer)."""
        started = time.perf_counter()
        response = self.session.post(
            f"{self.base_url}/api/v1/chart/data", timeout=60, json={**query_context, "force": force}
        )
        ms = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        return ms, response.json()

    def database_id(self, name: str) -> int:
        for db in self.get("/api/v1/database/", q="(page_size:100)")["result"]:
            if db["database_name"] == name:
                return int(db["id"])
        raise LookupError(f"no database {name!r} in Superset")

    def sql(self, database_id: int, statement: str) -> requests.Response:
        """Run a statement through SQL Lab, on the same connection the charts use."""
        return self.session.post(
            f"{self.base_url}/api/v1/sqllab/execute/",
            timeout=60,
            json={
                "database_id": database_id,
                "sql": statement,
                "runAsync": False,
                "schema": "marts",
                "tab": "e2e",
                "queryLimit": 10,
                "select_as_cta": False,
                "client_id": f"e2e{int(time.time() * 1000) % 10**8}",
            },
        )


@dataclass
class ChartQuery:
    slice_id: int | None
    status: int
    rows: int | None
    error: str | None
    ms: float
    body: dict[str, Any] | None = None  # the query context the browser sent, to replay it


@dataclass
class DashboardVisit:
    slug: str
    seconds_to_rendered: float
    queries: list[ChartQuery] = field(default_factory=list)
    holders: list[dict[str, Any]] = field(default_factory=list)
    screenshot: Path | None = None


def _chart_query(response: Any) -> list[ChartQuery]:
    try:
        body = response.request.post_data_json or {}
    except Exception:  # noqa: BLE001 - a body that is not JSON names no chart
        body = {}
    slice_id = body.get("form_data", {}).get("slice_id")
    timing = response.request.timing
    ms = float(timing.get("responseEnd", -1))
    try:
        answer = response.json()
    except Exception:  # noqa: BLE001
        return [ChartQuery(slice_id, response.status, None, f"HTTP {response.status}, body not JSON", ms, body)]
    results = answer.get("result") if isinstance(answer, dict) else None
    if not results:
        return [ChartQuery(slice_id, response.status, None, str(answer)[:300], ms, body)]
    return [ChartQuery(slice_id, response.status, r.get("rowcount"), r.get("error"), ms, body) for r in results]


# Per chart holder on the page: its chart id, whether it drew something, and any error or empty state it shows.
HOLDERS_JS = """() => Array.from(document.querySelectorAll('.dashboard-component-chart-holder')).map(h => {
  const id = (h.className.match(/dashboard-chart-id-(\\d+)/) || [])[1];
  const text = h.innerText || '';
  return {
    chart_id: id ? Number(id) : null,
    drawn: h.querySelectorAll('canvas, table, .header-line').length > 0,
    error: h.querySelectorAll('[role=alert], .ant-alert-error').length > 0
      || /Unexpected error|error occurred/i.test(text),
    empty: /No results were returned/i.test(text),
    loading: h.querySelectorAll('.loading, [aria-label=loading], [role=status]').length > 0,
  };
})"""


def login(page: Any, base_url: str, username: str, password: str, attempts: int = 3) -> None:
    """Log in through the login form; retried, since a form submitted before React hydrates it does nothing."""
    for _ in range(attempts):
        page.goto(f"{base_url}/login/")
        page.wait_for_selector("[data-test=login-button]:not([disabled])", timeout=60_000)
        page.fill("[data-test=username-input]", username)
        page.fill("[data-test=password-input]", password)
        page.click("[data-test=login-button]")
        try:
            page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
            return
        except Exception:  # noqa: BLE001 - still on the login page: try again
            continue
    raise AssertionError(f"could not log in to {base_url} as {username}")


def visit_dashboard(
    page: Any, base_url: str, slug: str, expected_charts: int, screenshot: Path, timeout_s: float = 90.0
) -> DashboardVisit:
    """Open a dashboard, wait until every chart's data came back and every chart is drawn, screenshot it."""
    responses: list[Any] = []

    def listener(response: Any) -> None:
        if "/api/v1/chart/data" in response.url:
            responses.append(response)

    page.on("response", listener)
    started = time.monotonic()
    try:
        page.goto(f"{base_url}/superset/dashboard/{slug}/")
        deadline = started + timeout_s
        while len(responses) < expected_charts and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        page.wait_for_function(
            f"() => {{ const h = ({HOLDERS_JS})(); return h.length === {expected_charts} "
            "&& h.every(c => (c.drawn || c.error || c.empty) && !c.loading); }",
            timeout=max(1.0, deadline - time.monotonic()) * 1000,
        )
        rendered = time.monotonic() - started
        page.wait_for_timeout(500)  # let ECharts finish its entry animation for the screenshot
        holders = page.evaluate(HOLDERS_JS)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.remove_listener("response", listener)
    visit = DashboardVisit(slug, rendered, holders=holders, screenshot=screenshot)
    for response in responses:
        visit.queries.extend(_chart_query(response))
    return visit

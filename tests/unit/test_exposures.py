"""The dbt exposures of the dashboards are rendered from the config and the dashboard templates, and kept current."""

from __future__ import annotations

import yaml

from crypto_insights.config import load_settings
from crypto_insights.dashboards.exposures import EXPOSURES_FILE, render_exposures
from crypto_insights.paths import DBT_PROJECT_DIR


def test_the_committed_exposures_are_those_of_the_shipped_config() -> None:
    assert EXPOSURES_FILE.read_text() == render_exposures(), "run crypto-insights superset bootstrap and commit"


def test_one_exposure_per_dashboard_on_marts_that_exist() -> None:
    settings = load_settings()
    exposures = yaml.safe_load(render_exposures(settings))["exposures"]
    assert [e["tags"][1] for e in exposures] == list(settings.product_ids)
    marts = {p.stem for p in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql")}
    for exposure in exposures:
        assert exposure["type"] == "dashboard" and exposure["url"].endswith(
            f"/superset/dashboard/{exposure['tags'][1].lower()}/"
        )
        used = {ref.removeprefix("ref('").removesuffix("')") for ref in exposure["depends_on"]}
        assert used <= marts and {"fct_order_book_30s", "fct_trades_30s", "fct_whale_trades"} <= used

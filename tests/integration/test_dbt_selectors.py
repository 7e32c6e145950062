"""The selectors production runs (dbt_project/selectors.yml) select what their DAGs promise, as `dbt ls` resolves them.

The DAGs, the CLI and the benchmarks name these selectors instead of repeating `--exclude tag:daily`: here dbt
itself lists what each one holds, against the tags in the models' own configs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crypto_insights.config import load_settings
from crypto_insights.transform.dbt_runner import (
    DAILY_SELECTOR,
    DATA_TESTS_SELECTOR,
    MICRO_BATCH_ARGS,
    MICRO_BATCH_SELECTOR,
    run_dbt,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every model and test of the project, by unique id, with its tags and parents (`dbt ls --output json`)."""
    target = tmp_path_factory.mktemp("selectors") / "target"
    return {n["unique_id"]: n for n in _ls(target, "--resource-type", "model", "test")}


def _ls(target: Path, *args: str) -> list[dict]:
    result = run_dbt(
        ["ls", "--output", "json", "--output-keys", "unique_id", "resource_type", "tags", "depends_on", *args],
        target_path=target,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _selected(target: Path, selector: str) -> set[str]:
    return {n["unique_id"] for n in _ls(target, "--selector", selector)}


def test_the_micro_batch_is_every_model_but_the_daily_marts(nodes: dict[str, dict], tmp_path: Path) -> None:
    models = {uid for uid, n in nodes.items() if n["resource_type"] == "model"}
    daily = {uid for uid in models if "daily" in nodes[uid]["tags"]}
    assert daily >= {"model.crypto_insights.fct_order_book_daily", "model.crypto_insights.fct_trades_daily"}
    selected = _selected(tmp_path / "target", MICRO_BATCH_SELECTOR)
    # `dbt run` builds only the models of the selection; the selection itself holds no daily model
    assert {uid for uid in selected if uid.startswith("model.")} == models - daily
    assert MICRO_BATCH_ARGS == ("run", "--selector", MICRO_BATCH_SELECTOR)


def test_the_minutely_tests_are_the_data_tests_of_the_non_daily_models(nodes: dict[str, dict], tmp_path: Path) -> None:
    selected = _selected(tmp_path / "target", DATA_TESTS_SELECTOR)
    assert selected and all(uid.startswith("test.") for uid in selected)  # data tests, no unit tests, no models
    daily = {uid for uid, n in nodes.items() if n["resource_type"] == "model" and "daily" in n["tags"]}
    tests = {uid for uid, n in nodes.items() if n["resource_type"] == "test"}
    on_daily = {uid for uid in tests if daily & set(nodes[uid]["depends_on"]["nodes"])}
    assert on_daily and selected == tests - on_daily  # a test of a daily mart goes with its mart


def test_the_daily_build_is_the_daily_marts_and_their_parents(nodes: dict[str, dict], tmp_path: Path) -> None:
    selected = _selected(tmp_path / "target", DAILY_SELECTOR)
    models = {uid for uid in selected if uid.startswith("model.")}
    assert {"model.crypto_insights.fct_order_book_daily", "model.crypto_insights.fct_trades_daily"} <= models
    assert "model.crypto_insights.stg_coinbase__trades" in models  # a parent
    assert "model.crypto_insights.int_book_snapshots_measured" in models
    # the exploded detail (its lookback capped at its retention: test_dbt_retention.py)
    detail = {uid for uid, n in nodes.items() if n["resource_type"] == "model" and "detail" in n["tags"]}
    assert detail == {
        "model.crypto_insights.stg_coinbase__book_levels",
        "model.crypto_insights.stg_coinbase__book_buckets",
        "model.crypto_insights.int_book_tails_bucketed",
    }
    assert detail <= models
    assert not any(uid.startswith("unit_test.") for uid in selected)  # code checks: CI runs them, not production
    assert "model.crypto_insights.fct_whale_walls" not in models  # not upstream of a daily mart
    assert any(uid.startswith("test.crypto_insights.primary_key_fct_order_book_daily_") for uid in selected)


def test_each_dashboard_is_a_dbt_exposure_downstream_of_the_source(tmp_path: Path) -> None:
    """dbt itself resolves the rendered exposures: lineage from the Coinbase source to each coin's dashboard."""
    exposures = _ls(tmp_path / "target", "--resource-type", "exposure")
    names = {n["unique_id"] for n in exposures}
    assert len(names) == len(load_settings().product_ids)
    upstream = _ls(
        tmp_path / "target", "--select", "+exposure:superset_btc_usd_order_book", "--resource-type", "source"
    )
    assert {n["unique_id"].rsplit(".", 1)[-1] for n in upstream} >= {"coinbase_book_snapshots", "coinbase_trades"}

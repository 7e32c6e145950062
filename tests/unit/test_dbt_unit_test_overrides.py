"""Every dbt unit test sets the whole `crypto_insights` var itself, so no deployment's config can break it."""

from __future__ import annotations

import pytest
import yaml

from crypto_insights.config import load_settings
from crypto_insights.paths import DBT_PROJECT_DIR
from crypto_insights.transform.dbt_vars import VAR_NAME, dbt_vars


def unit_tests() -> list[tuple[str, dict]]:
    found = []
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("_*.yml")):
        found += [(t["name"], t) for t in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", [])]
    return found


def test_the_project_has_unit_tests() -> None:
    assert len(unit_tests()) >= 5


@pytest.mark.parametrize(("name", "unit_test"), unit_tests(), ids=[name for name, _ in unit_tests()])
def test_unit_test_sets_every_setting_dbt_reads(name: str, unit_test: dict) -> None:
    value = (unit_test.get("overrides") or {}).get("vars", {}).get(VAR_NAME)
    assert isinstance(value, dict), f"{name}: add `overrides: vars: {VAR_NAME}:` (see the first unit test of its file)"
    missing = set(dbt_vars(load_settings())) - set(value)
    assert not missing, f"{name}: its `{VAR_NAME}` override lacks {sorted(missing)}"

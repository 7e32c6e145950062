"""Every column of every mart is described in dbt_project/models/marts/_marts__models.yml (dbt docs, Superset).

The columns are not read from the YAML but from the marts themselves: dbt builds them on an empty warehouse (their
columns do not depend on the rows) and information_schema lists what each one holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.integration.landing_helpers import query

from crypto_insights.paths import DBT_PROJECT_DIR
from crypto_insights.transform.dbt_runner import run_dbt

pytestmark = pytest.mark.integration

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"


def documented_columns() -> dict[str, tuple[set[str], set[str]]]:
    """Per mart model of the YAML: the column names it lists, and those of them with a description."""
    models = yaml.safe_load((MARTS_DIR / "_marts__models.yml").read_text())["models"]
    return {
        m["name"]: (
            {c["name"] for c in m.get("columns", [])},
            {c["name"] for c in m.get("columns", []) if (c.get("description") or "").strip()},
        )
        for m in models
    }


def test_every_mart_column_is_described(warehouse: str, tmp_path: Path) -> None:
    result = run_dbt(["run"], dbname=warehouse, target_path=tmp_path / "target")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    built: dict[str, set[str]] = {}
    for row in query(
        warehouse, "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
    ):
        built.setdefault(row["table_name"], set()).add(row["column_name"])
    assert set(built) == {path.stem for path in MARTS_DIR.glob("*.sql")}

    documented = documented_columns()
    problems = []
    for mart, columns in sorted(built.items()):
        listed, described = documented.get(mart, (set(), set()))
        missing, extra = sorted(columns - described), sorted(listed - columns)
        if missing or extra:
            problems.append(f"{mart}: not described {missing}; listed but not in the mart {extra}")
    assert not problems, "\n".join(problems)

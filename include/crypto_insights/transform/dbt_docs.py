"""dbt docs for the project, served from the Airflow UI by astronomer-cosmos' docs plugin (Airflow >= 3.1).

`dbt docs generate` writes `index.html`, `manifest.json` and `catalog.json` into `docs_dir()`; Airflow's
`[cosmos] dbt_docs_projects` points the plugin there (`cosmos_docs_setting`), which adds "dbt Docs (Crypto
Insights)" to the Browse menu at `DOCS_PATH`. The demo generates them at start; `crypto_maintenance` regenerates
them daily (the catalog then holds the marts' columns as built), through `publish_docs` as its Cosmos callback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from crypto_insights.paths import local_dir

DOCS_SLUG = "crypto_insights"
DOCS_NAME = "dbt Docs (Crypto Insights)"
DOCS_PATH = f"/cosmos/{DOCS_SLUG}/dbt_docs_index.html"  # under Airflow's api-server
DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


def docs_dir() -> Path:
    return local_dir() / "dbt" / "docs"


def cosmos_docs_setting(folder: Path | None = None) -> str:
    """The value of AIRFLOW__COSMOS__DBT_DOCS_PROJECTS for this project's docs."""
    return json.dumps({DOCS_SLUG: {"dir": str(folder or docs_dir()), "index": "index.html", "name": DOCS_NAME}})


def publish_docs(project_dir: str, **_: object) -> list[str]:
    """Copy the docs `dbt docs generate` wrote under `project_dir/target` to `docs_dir()` (a Cosmos callback).

    Each file is replaced whole (written aside, then renamed), so the docs page never reads half a manifest.
    """
    target, out = Path(project_dir) / "target", docs_dir()
    out.mkdir(parents=True, exist_ok=True)
    for name in DOCS_FILES:
        tmp = out / f".{name}.tmp"
        shutil.copyfile(target / name, tmp)
        tmp.replace(out / name)
    return [str(out / name) for name in DOCS_FILES]


def generate_docs(dbname: str | None = None) -> Path:
    """`dbt docs generate` as the CLI runs dbt, published to `docs_dir()`; raises with dbt's output on failure."""
    from crypto_insights.transform.dbt_runner import run_dbt

    target = local_dir() / "dbt" / "docs-build"
    result = run_dbt(["docs", "generate"], dbname=dbname, target_path=target / "target")
    if result.returncode != 0:
        raise RuntimeError(f"dbt docs generate failed:\n{result.stdout[-3000:]}\n{result.stderr[-1000:]}")
    publish_docs(str(target))
    return docs_dir()

"""Where the project's files live: the repository, its config and the ignored runtime folder `.local/`."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_PATH = REPO_ROOT / "include" / "crypto_insights.yaml"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DAGS_DIR = REPO_ROOT / "dags"
SUPERSET_DIR = REPO_ROOT / "superset"


def local_dir() -> Path:
    """Runtime state (database files, logs, generated secrets): `.local/` unless CRYPTO_INSIGHTS_HOME says."""
    return Path(os.environ.get("CRYPTO_INSIGHTS_HOME") or REPO_ROOT / ".local").resolve()

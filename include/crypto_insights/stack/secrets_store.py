"""Secrets the local stack generates once and keeps in `.local/secrets.json` (0600); never committed."""

from __future__ import annotations

import json
import os
import secrets

from crypto_insights.paths import local_dir

NAMES = (
    "airflow_jwt_secret",
    "airflow_api_secret_key",
    "airflow_admin_password",
    "superset_secret_key",
    "superset_admin_password",
    "superset_viewer_password",
)


def load_secrets() -> dict[str, str]:
    path = local_dir() / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    missing = [n for n in NAMES if n not in stored]
    if missing:
        stored.update({n: secrets.token_urlsafe(64 if "secret" in n else 12) for n in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return stored

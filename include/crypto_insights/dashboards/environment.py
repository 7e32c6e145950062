"""Superset's own virtualenv, the environment its processes get, and the warehouse role it reads as.

Superset cannot share the pipeline's virtualenv (it pins SQLAlchemy < 2): it lives in `.venv-superset`
(``CRYPTO_INSIGHTS_SUPERSET_VENV`` to use another) and this package only ever starts its executables.

Values given in the environment win, as in docker-compose (`SUPERSET_SECRET_KEY`, `SUPERSET_DATABASE_URI`,
`SUPERSET_ADMIN_PASSWORD`, `CRYPTO_INSIGHTS_READER_URL`); otherwise the local stack's own are used: the
generated secrets of `.local/secrets.json` and the embedded PostgreSQL's `superset` database and `reader` role.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from crypto_insights.paths import REPO_ROOT, SUPERSET_DIR, local_dir
from crypto_insights.postgres.connection import Endpoint, endpoint

SUPERSET_VENV_ENV = "CRYPTO_INSIGHTS_SUPERSET_VENV"
READER_URL_ENV = "CRYPTO_INSIGHTS_READER_URL"
CONFIG_FILE = SUPERSET_DIR / "superset_config.py"
PROVISION_SCRIPT = SUPERSET_DIR / "provision.py"
ADMIN_USER = "admin"
VIEWER_USER = "viewer"  # role "Crypto Insights Viewer": the project's dashboards, read-only, no SQL Lab


class SupersetNotInstalled(RuntimeError):
    pass


def superset_venv() -> Path:
    return Path(os.environ.get(SUPERSET_VENV_ENV) or REPO_ROOT / ".venv-superset")


def superset_bin(name: str = "python") -> Path:
    path = superset_venv() / "bin" / name
    if not path.exists():
        raise SupersetNotInstalled(
            f"{path} does not exist: run `make install-superset` (Superset gets its own virtualenv, "
            f".venv-superset), or point ${SUPERSET_VENV_ENV} at a virtualenv with apache-superset installed"
        )
    return path


def superset_home() -> Path:
    """Superset's runtime folder (its SUPERSET_HOME, the rendered bundle, the bootstrap log)."""
    home = local_dir() / "superset"
    home.mkdir(parents=True, exist_ok=True)
    return home


def reader_endpoint() -> Endpoint:
    """Where and as whom Superset reads the warehouse: ``$CRYPTO_INSIGHTS_READER_URL``, else the reader role."""
    url = os.environ.get(READER_URL_ENV)
    if not url:
        return endpoint("reader")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname or not parts.username:
        raise ValueError(f"${READER_URL_ENV} must look like postgresql://crypto_reader:PASSWORD@host:5432/crypto")
    return Endpoint(
        parts.hostname,
        parts.port or 5432,
        unquote(parts.username),
        unquote(parts.password or ""),
        unquote(parts.path.lstrip("/")) or "crypto",
    )


def _secret(name: str) -> str:
    from crypto_insights.stack.secrets_store import load_secrets

    return load_secrets()[name]


def admin_password(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("SUPERSET_ADMIN_PASSWORD") or _secret("superset_admin_password")


def viewer_password(env: dict[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("SUPERSET_VIEWER_PASSWORD") or _secret("superset_viewer_password")


def superset_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every Superset process (web server, provisioning)."""
    env = dict(os.environ if base is None else base)
    if not env.get("SUPERSET_SECRET_KEY"):
        env["SUPERSET_SECRET_KEY"] = _secret("superset_secret_key")
    if not env.get("SUPERSET_DATABASE_URI"):
        env["SUPERSET_DATABASE_URI"] = endpoint("superset").url("postgresql+psycopg2")
    env.update(
        {
            "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
            "SUPERSET_HOME": str(superset_home()),
            "FLASK_APP": "superset.app:create_app()",
            "PYTHONPATH": str(SUPERSET_DIR),
            "PATH": f"{superset_venv() / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "DO_NOT_TRACK": "1",
            "SCARF_ANALYTICS": "false",
        }
    )
    env.pop("VIRTUAL_ENV", None)
    return env

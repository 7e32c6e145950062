"""Superset's configuration for Crypto Insights, read by Superset itself (``SUPERSET_CONFIG_PATH`` points here).

Everything that differs between machines comes from the environment, as in docker-compose:
  SUPERSET_SECRET_KEY      required; the demo generates one (`.local/secrets.json`), compose reads it from `.env`
  SUPERSET_DATABASE_URI    required; the metadata database (`superset` as `superset_app` in the demo)
  SUPERSET_DATA_CACHE_SECONDS  chart data cache, default 10 s: shorter than the dashboards' 30 s refresh, so
                           every refresh shows new rows while viewers opened at the same time share one query.
This module runs inside Superset's own virtualenv: it imports nothing from the project.
"""

from __future__ import annotations

import os


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise RuntimeError(
            f"${name} is not set: start Superset through `crypto-insights superset start` (or docker compose "
            f"with a .env), which passes it; see superset/superset_config.py"
        )
    return value


SECRET_KEY = _required("SUPERSET_SECRET_KEY")
SQLALCHEMY_DATABASE_URI = _required("SUPERSET_DATABASE_URI")
SQLALCHEMY_TRACK_MODIFICATIONS = False

# -- caches: one on disk under SUPERSET_HOME, shared by every gunicorn worker (no Redis needed; a per-process
# SimpleCache would make each worker query again what another just cached); chart data expires before the next
# 30 s refresh --------------------------------------------------------------------------------------------------
DATA_CACHE_SECONDS = int(os.environ.get("SUPERSET_DATA_CACHE_SECONDS", "10"))
CACHE_DEFAULT_TIMEOUT = 300
_CACHE_DIR = os.path.join(os.environ.get("SUPERSET_HOME") or os.path.expanduser("~/.superset"), "cache")
CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": os.path.join(_CACHE_DIR, "metadata"),
    "CACHE_DEFAULT_TIMEOUT": 300,
    "CACHE_THRESHOLD": 500,
}
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": os.path.join(_CACHE_DIR, "data"),
    "CACHE_DEFAULT_TIMEOUT": DATA_CACHE_SECONDS,
    "CACHE_THRESHOLD": 2000,
}

# -- dashboards: auto-refresh every 30 s (each dashboard's json_metadata says refresh_frequency: 30) ------------
# Superset 6 needs no feature flag for it. "fetch" lets a refresh use the data cache (10 s, so always fresh by the
# next refresh) instead of forcing every open dashboard's queries through to the warehouse ("force").
DASHBOARD_AUTO_REFRESH_MODE = "fetch"
SUPERSET_DASHBOARD_PERIODICAL_REFRESH_LIMIT = 0
# Relative time ranges ("Last 60 minutes", "Last day") end now, not at midnight: these are live dashboards.
DEFAULT_RELATIVE_START_TIME = "now"
DEFAULT_RELATIVE_END_TIME = "now"
SUPERSET_WEBSERVER_TIMEOUT = 60
ROW_LIMIT = 10000
# No example data: nothing here loads it (`superset load-examples` is never run) and no examples database is used.
FEATURE_FLAGS = {
    "DASHBOARD_RBAC": False,
    "ALERT_REPORTS": False,
    "THUMBNAILS": False,
    "ENABLE_TEMPLATE_PROCESSING": False,
    "EMBEDDED_SUPERSET": False,
}

# -- security: CSRF on (Flask-WTF default), no telemetry, no third-party origins -----------------------------
WTF_CSRF_ENABLED = True
# The default policy allows Superset's telemetry pixel (scarf.sh) and map tile servers; this one allows only
# Superset itself, so a browser never calls out from a dashboard.
TALISMAN_ENABLED = True
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "script-src": ["'self'", "'strict-dynamic'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "force_https": False,
    "session_cookie_secure": False,
}
CONTENT_SECURITY_POLICY_WARNING = False
PREVENT_UNSAFE_DB_CONNECTIONS = True
SESSION_COOKIE_SAMESITE = "Lax"
RECAPTCHA_PUBLIC_KEY = ""

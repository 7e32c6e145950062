"""docker-compose's `warehouse-init`: the roles, databases and grants of docs/architecture.md#databases-and-roles on
the compose PostgreSQL, then the raw schema — the same code the embedded server runs
(`crypto_insights.postgres.bootstrap`, `landing.migrations`).

Every password comes from the environment (.env); nothing has a default.
"""

from __future__ import annotations

import os
import sys
import time

import psycopg2

from crypto_insights.landing.migrations import migrate
from crypto_insights.postgres.bootstrap import bootstrap
from crypto_insights.postgres.connection import Endpoint

PASSWORD_ENV = {
    "crypto_loader": "CRYPTO_LOADER_PASSWORD",
    "crypto_transform": "CRYPTO_TRANSFORM_PASSWORD",
    "crypto_reader": "CRYPTO_READER_PASSWORD",
    "airflow_app": "AIRFLOW_DB_PASSWORD",
    "superset_app": "SUPERSET_DB_PASSWORD",
}


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"warehouse-init: ${name} is not set: copy .env.example to .env and fill it in")
    return value


def main() -> int:
    host, port = os.environ.get("POSTGRES_HOST", "postgres"), int(os.environ.get("POSTGRES_PORT", "5432"))
    admin = Endpoint(host, port, _env("POSTGRES_USER"), _env("POSTGRES_PASSWORD"), "postgres")
    passwords = {user: _env(name) for user, name in PASSWORD_ENV.items()}
    passwords[admin.user] = admin.password
    passwords.setdefault("crypto_admin", admin.password)
    started = time.monotonic()
    bootstrap(admin, passwords)
    conn = psycopg2.connect(
        **Endpoint(host, port, "crypto_loader", passwords["crypto_loader"], "crypto").connect_kwargs()
    )
    try:
        applied = migrate(conn)
    finally:
        conn.close()
    print(f"warehouse ready in {time.monotonic() - started:.1f}s; migrations applied: {applied or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

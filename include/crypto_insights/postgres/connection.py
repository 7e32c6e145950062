"""Connection settings for every component: one place that knows where the warehouse is and who connects.

By default the embedded server's state file holds the port and generated passwords. Setting
``CRYPTO_INSIGHTS_DATABASE_URL`` (``postgresql://user:pass@host:port/``) points everything at your own server
instead; every role then connects as that user.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

DATABASE_URL_ENV = "CRYPTO_INSIGHTS_DATABASE_URL"
Role = Literal["admin", "loader", "transform", "reader", "airflow", "superset"]
ROLE_USERS: dict[str, str] = {
    "admin": "crypto_admin",
    "loader": "crypto_loader",
    "transform": "crypto_transform",
    "reader": "crypto_reader",
    "airflow": "airflow_app",
    "superset": "superset_app",
}
ROLE_DATABASES: dict[str, str] = {"airflow": "airflow", "superset": "superset"}
WAREHOUSE_DB = "crypto"


class DatabaseNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def url(self, scheme: str = "postgresql") -> str:
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"{scheme}://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"

    def connect_kwargs(self) -> dict[str, object]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": 5,
            "application_name": "crypto-insights",
        }

    def with_db(self, dbname: str) -> Endpoint:
        return Endpoint(self.host, self.port, self.user, self.password, dbname)


def endpoint(role: Role = "loader", dbname: str | None = None, base_dir: Path | None = None) -> Endpoint:
    """Where and as whom `role` connects; `dbname` defaults to the role's own database."""
    if role not in ROLE_USERS:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLE_USERS)}")
    db = dbname or ROLE_DATABASES.get(role, WAREHOUSE_DB)
    external = os.environ.get(DATABASE_URL_ENV)
    if external:
        parts = urlsplit(external)
        if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
            raise DatabaseNotConfigured(f"${DATABASE_URL_ENV} must look like postgresql://user:pass@host:5432/")
        return Endpoint(
            parts.hostname, parts.port or 5432, unquote(parts.username or ""), unquote(parts.password or ""), db
        )
    from crypto_insights.postgres.server import EmbeddedPostgres

    state = EmbeddedPostgres(base_dir).load_state()
    if state is None:
        raise DatabaseNotConfigured(
            "the embedded PostgreSQL has not been started: run `crypto-insights postgres start` (or `make demo`), "
            f"or set ${DATABASE_URL_ENV} to use your own server"
        )
    user = ROLE_USERS[role]
    return Endpoint("127.0.0.1", state.port, user, state.passwords[user], db)

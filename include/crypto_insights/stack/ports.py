"""The demo's ports: defaults everyone knows, each overridable by an environment variable."""

from __future__ import annotations

import os
import socket

DEFAULTS = {"airflow": 8080, "superset": 8088, "exchange": 8765}


def port(service: str) -> int:
    return int(os.environ.get(f"CRYPTO_INSIGHTS_{service.upper()}_PORT", DEFAULTS[service]))


def is_free(number: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", number))
        except OSError:
            return False
    return True

"""The captured Coinbase responses in `tests/fixtures/coinbase/` (provenance in its README), for the wire-format tests.

They live in the repository, so a missing file is a broken checkout: reading it fails the test, never skips it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COINBASE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "coinbase"


def coinbase_capture_bytes(name: str) -> bytes:
    """The captured response body `name` (e.g. `product_BTC-USD.json`) as received (the file's final newline off)."""
    path = COINBASE_FIXTURES / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: this Coinbase capture is missing from the checkout; the files and their "
            f"provenance are listed in {COINBASE_FIXTURES / 'README.md'}"
        )
    return path.read_bytes().rstrip(b"\n")


def coinbase_capture(name: str) -> Any:
    """The captured response body `name`, decoded as JSON."""
    return json.loads(coinbase_capture_bytes(name))

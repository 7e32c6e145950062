"""Replay mode: captured response bodies served verbatim, in name order, repeating the last one."""

from __future__ import annotations

import threading
from pathlib import Path


class ReplayStore:
    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(f"replay folder {folder} does not exist")
        self.files: dict[tuple[str, str], list[Path]] = {}
        for product_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            for endpoint in ("book", "ticker"):
                found = sorted(product_dir.glob(f"{endpoint}_*.json"))
                if found:
                    self.files[(product_dir.name, endpoint)] = found
        if not self.files:
            raise FileNotFoundError(f"{folder} holds no <PRODUCT-ID>/book_*.json or ticker_*.json files")
        self._served: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    @property
    def product_ids(self) -> list[str]:
        return sorted({pid for pid, _ in self.files})

    def next_body(self, product_id: str, endpoint: str) -> bytes | None:
        files = self.files.get((product_id, endpoint))
        if not files:
            return None
        with self._lock:
            n = self._served.get((product_id, endpoint), 0)
            self._served[(product_id, endpoint)] = n + 1
        return files[min(n, len(files) - 1)].read_bytes()

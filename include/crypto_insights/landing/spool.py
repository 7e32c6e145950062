"""A folder of slot batches the database could not take yet: fetched data is never lost to an outage.

A batch the database *rejects* (a constraint, a bad value: retrying cannot help) moves to `quarantine/` beside a
`.reason` file, so it never blocks the slots after it; see docs/architecture.md#ingest-accounting.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from crypto_insights.landing.batch import SlotBatch


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def save(self, batch: SlotBatch) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = batch.slot_at.replace(":", "").replace("-", "").replace("+", "Z")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.json"
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            f.write(batch.to_json())
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        return path

    def pending(self) -> list[Path]:
        return sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []

    @property
    def quarantine_folder(self) -> Path:
        return self.folder / "quarantine"

    def quarantine(self, path: Path, reason: str) -> Path:
        """Move a spooled batch aside with the reason it was rejected; returns its new path."""
        self.quarantine_folder.mkdir(parents=True, exist_ok=True)
        target = self.quarantine_folder / path.name
        path.replace(target)
        target.with_suffix(".reason").write_text(reason + "\n", encoding="utf-8")
        return target

    def quarantined(self) -> list[Path]:
        folder = self.quarantine_folder
        return sorted(folder.glob("*.json")) if folder.is_dir() else []

    @staticmethod
    def load(path: Path) -> SlotBatch:
        return SlotBatch.from_json(path.read_text(encoding="utf-8"))

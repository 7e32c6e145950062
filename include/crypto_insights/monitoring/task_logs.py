"""Airflow's own logs (task attempts, scheduler, DAG processor) pruned after the retention period.

Every landing window, micro-batch and monitor run writes a task log: a few thousand files a day under
`$AIRFLOW_HOME/logs`. Files older than the retention are deleted, then the folders they leave empty. A folder that
is empty but was not emptied here (a task that is just starting) is left alone, and symbolic links are never
followed or removed.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path


@dataclass(frozen=True)
class PruneReport:
    files: int
    bytes: int
    folders: int

    def as_dict(self) -> dict[str, int]:
        return {"files": self.files, "bytes": self.bytes, "folders": self.folders}


def prune_task_logs(root: Path, older_than_days: int, now: datetime | None = None) -> PruneReport:
    """Delete regular files under `root` last modified more than `older_than_days` ago, and the folders left
    empty by it (never `root` itself)."""
    if older_than_days < 1:
        raise ValueError(f"older_than_days must be at least 1, got {older_than_days}")
    if not root.is_dir():
        return PruneReport(0, 0, 0)
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=older_than_days)).timestamp()
    files = size = folders = 0
    emptied: set[str] = set()
    for folder, _subfolders, names in os.walk(root, topdown=False):
        for name in names:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)  # a symbolic link is not followed: S_ISREG is false for it
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= cutoff:
                continue
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            files, size = files + 1, size + info.st_size
            emptied.add(folder)
        if folder == str(root) or folder not in emptied:
            continue
        try:
            os.rmdir(folder)  # only succeeds when empty
        except OSError:
            continue
        folders += 1
        emptied.add(os.path.dirname(folder))
    return PruneReport(files, size, folders)

"""Airflow's local settings for the demo stack (imported by every Airflow process as `airflow_local_settings`,
through the one-line shim `crypto_insights.stack.airflow_env` writes to $AIRFLOW_HOME/config).

The scheduler imports dbt once, at start-up. The LocalExecutor forks its workers from the scheduler and each task
process from a worker, so every `crypto_transform` micro-batch then starts dbt without importing it: ~1.3 s less
on the way from a landed window to the marts (docs/architecture.md#cadence-and-freshness), for ~100 MB the forks
share copy-on-write.
The other Airflow processes never run dbt and do not pay for it.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

PRELOADED = ("dbt.cli.main", "dbt.adapters.postgres")


def is_scheduler(argv: list[str] | None = None) -> bool:
    """`airflow scheduler` (not the api-server, dag-processor or triggerer, nor a task or a CLI command)."""
    argv = sys.argv if argv is None else argv
    return len(argv) > 1 and argv[0].endswith("airflow") and argv[1] == "scheduler"


def preload_dbt() -> bool:
    import importlib

    try:
        for module in PRELOADED:
            importlib.import_module(module)
    except ImportError as exc:  # dbt is optional for Airflow itself: tasks import it (and fail) as before
        log.warning("dbt not preloaded: %s", exc)
        return False
    return True


if is_scheduler():
    preload_dbt()

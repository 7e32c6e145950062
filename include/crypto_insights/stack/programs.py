"""The demo's supervised programs (Superset's is `crypto_insights.dashboards.server.superset_program`).

`startsecs` is how long a start must last to count: about an Airflow component's import time, so that one dying
at start-up while PostgreSQL is down is retried with a back-off instead of in a tight loop. `priority` orders
starts (low first) and stops (high first): dashboards stop first, the data source last.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from crypto_insights.dashboards.server import SUPERSET
from crypto_insights.stack.supervisor import Program

BIN = Path(sys.executable).parent
EXCHANGE = "exchange"
# program -> the `airflow` subcommand. The scheduler's and triggerer's log servers are not started: Airflow 3.3
# binds them to every interface (no setting; airflow/utils/serve_logs/core.py), and on one machine the api-server
# reads the task and trigger logs from the shared log folder itself.
AIRFLOW = {
    "airflow-api-server": ("api-server",),
    "airflow-scheduler": ("scheduler", "--skip-serve-logs"),
    "airflow-dag-processor": ("dag-processor",),
    "airflow-triggerer": ("triggerer", "--skip-serve-logs"),
}
# Every program `demo up` supervises, in start order (the benchmarks, the soak and the e2e tests name them from here).
DEMO_PROGRAMS = (EXCHANGE, *AIRFLOW, SUPERSET)
# supervisord stops programs one after the other (by priority): `demo down` lasts at most the sum of these.
AIRFLOW_STOPWAIT_S = {"airflow-scheduler": 20, "airflow-triggerer": 20}


def exchange_program(port: int, env: Mapping[str, str]) -> Program:
    argv = (str(BIN / "crypto-insights"), "exchange", "--host", "127.0.0.1", "--port", str(port))
    return Program(argv, env, startsecs=2, stopwaitsecs=10, priority=100)


def airflow_programs(env: Mapping[str, str]) -> dict[str, Program]:
    return {
        name: Program(
            (str(BIN / "airflow"), *command),
            env,
            startsecs=10,
            stopwaitsecs=AIRFLOW_STOPWAIT_S.get(name, 15),
            priority=200 + 10 * i,
        )
        for i, (name, command) in enumerate(AIRFLOW.items())
    }

"""DAG integrity, Astronomer-style, in Airflow 3 form: every DAG imports cleanly and follows the house rules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from crypto_insights.paths import DAGS_DIR

DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
EXPECTED_DAGS = {"coinbase_ingest", "crypto_data_tests", "crypto_maintenance", "crypto_monitor", "crypto_transform"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_expected_dags_are_there(dagbag) -> None:
    assert EXPECTED_DAGS <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_follows_house_rules(dagbag, dag_id: str) -> None:
    dag = dagbag.dags[dag_id]
    assert dag.tags, "every DAG is tagged"
    assert dag.doc_md and len(dag.doc_md) > 80, "the module docstring documents the DAG"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.retries >= 2, f"{dag_id}.{task.task_id} retries"
        assert task.retry_exponential_backoff, f"{dag_id}.{task.task_id} backs off"
    dag.topological_sort()  # raises on a cycle


def test_ingest_lands_an_asset_that_schedules_transform(dagbag) -> None:
    from crypto_insights.airflow.assets import RAW_ORDER_BOOKS

    land = dagbag.dags["coinbase_ingest"].get_task("land_window")
    assert RAW_ORDER_BOOKS in land.outlets


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_do_no_work_at_top_level(path: Path) -> None:
    """Imports of heavy or I/O modules and calls at module level would run at every parse of the DAG file."""
    tree = ast.parse(path.read_text())
    banned = {"requests", "psycopg2", "pandas", "crypto_insights.landing", "crypto_insights.coinbase"}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                assert not any(name == b or name.startswith(b + ".") for b in banned), f"top-level import {name}"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_without_network_or_database(path: Path, tmp_path: Path) -> None:
    """Parse each DAG file in a fresh interpreter whose sockets are disabled: any connect at parse time fails."""
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise RuntimeError('network or database access at DAG parse time')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "import runpy, sys\nrunpy.run_path(sys.argv[1])\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_airflow_2_idioms() -> None:
    """ruff's AIR3 rules catch Airflow 2 habits (schedule_interval, execution_date, Dataset, old imports)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "AIR3",
            "--preview",
            str(DAGS_DIR),
            str(DAGS_DIR.parent / "include"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_transform_is_scheduled_by_each_landed_slot_or_window(dagbag) -> None:
    from airflow.sdk.definitions.asset import AssetAny

    from crypto_insights.airflow.assets import LANDED_SLOTS, MARTS, RAW_ORDER_BOOKS
    from crypto_insights.airflow.triggers import LandedSlotTrigger

    dag = dagbag.dags["crypto_transform"]
    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)  # either asset starts a run: a silent watcher still leaves the window's
    assert {a.name for a in condition.objects} == {LANDED_SLOTS.name, RAW_ORDER_BOOKS.name}
    (watcher,) = LANDED_SLOTS.watchers
    assert isinstance(watcher.trigger, LandedSlotTrigger)
    assert watcher.trigger.serialize()[1] == {"warehouse_conn_id": "crypto_warehouse", "wait_s": 1.0}
    assert MARTS in dag.get_task("dbt_run").outlets


def test_the_micro_batch_builds_models_and_the_data_tests_run_every_minute(dagbag) -> None:
    from crypto_insights.airflow.assets import MARTS_TESTED

    run = dagbag.dags["crypto_transform"].get_task("dbt_run")
    assert type(run).__name__ == "DbtRunLocalOperator" and run.selector == "micro_batch" and not run.select
    tests = dagbag.dags["crypto_data_tests"]
    assert tests.timetable.expression == "* * * * *" and tests.max_active_runs == 1
    test = tests.get_task("dbt_test")
    assert type(test).__name__ == "DbtTestLocalOperator" and test.selector == "recent_data_tests"
    assert MARTS_TESTED in test.outlets
    assert test.cache_dir != run.cache_dir  # the two may run at once: each keeps its own partial-parse file


def test_monitor_runs_every_minute_and_checks_each_alert(dagbag) -> None:
    from crypto_insights.airflow.assets import MARTS, MARTS_TESTED

    dag = dagbag.dags["crypto_monitor"]
    assert dag.timetable.expression == "* * * * *"
    assert {
        "sweep_ingest_gaps",
        "check_ingest_freshness",
        "check_drop_rate",
        "check_transform_recovered",
        "check_data_tests_recovered",
    } <= set(dag.task_ids)
    assert MARTS in dag.get_task("check_transform_recovered").inlets  # reads the marts' asset events
    assert MARTS_TESTED in dag.get_task("check_data_tests_recovered").inlets
    assert dag.dagrun_timeout is not None, "a stuck run must not block the next minute's forever"


def test_transform_failures_are_sent_by_the_notifier(dagbag) -> None:
    from crypto_insights.airflow.notifiers import TaskFailureNotifier

    for dag_id, task_id, key in (
        ("crypto_transform", "dbt_run", "transform_failed"),
        ("crypto_data_tests", "dbt_test", "data_tests_failed"),
    ):
        callbacks = dagbag.dags[dag_id].get_task(task_id).on_failure_callback
        notifiers = [c for c in callbacks if isinstance(c, TaskFailureNotifier)]
        assert [n.alert_key for n in notifiers] == [key]


def test_maintenance_prunes_airflow_logs(dagbag) -> None:
    assert "prune_airflow_logs" in dagbag.dags["crypto_maintenance"].task_ids


def test_a_bad_config_is_no_import_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The config is read when tasks run: a broken one fails tasks with its one-line error, never a DAG's import."""
    from airflow.dag_processing.dagbag import DagBag

    from crypto_insights.config import _load

    bad = tmp_path / "config.yaml"
    bad.write_text("symbols:\n  BTC-USD: {price_min: 1}\n  BTC-USD: {price_min: 2}\n")
    monkeypatch.setenv("CRYPTO_INSIGHTS_CONFIG", str(bad))
    _load.cache_clear()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert EXPECTED_DAGS <= set(bag.dag_ids)

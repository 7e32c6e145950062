"""`make soak`'s own code, short: 10 coins, 5 % exchange chaos, the triggerer SIGKILLed and PostgreSQL stopped 20 s,
then the ledger of every (product, slot, endpoint): nothing unaccounted, nothing twice, no error for what landed.

Runs `python -m bench.soak` in a process of its own (it points its environment at its own home and ports) without
Superset, which is not on the data path and would take most of the time budget to provision.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from crypto_insights.paths import REPO_ROOT

pytestmark = pytest.mark.e2e
MINUTES = 4
TIMEOUT_S = 9 * 60  # the run, plus starting and stopping the stack on a busy machine


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict, float]:
    out = tmp_path_factory.mktemp("soak")
    began = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--minutes",
            str(MINUTES),
            "--chaos",
            "0.05",
            "--plan",
            "short",
            "--no-dashboards",
            "--no-lock",
            "--settle-s",
            "30",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    wall = time.monotonic() - began
    report = out / "reliability.json"
    assert report.exists(), f"no report (exit {done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    assert (out / "reliability.md").exists() and (out / "images" / "reliability_memory.png").exists()
    print(f"\nsoak: {wall:.0f} s wall in all\n{done.stdout[-3000:]}")
    return done, json.loads(report.read_text()), wall


def test_nothing_is_lost_duplicated_or_falsely_recorded(soak) -> None:
    done, result, _ = soak
    ledger = result["ledger"]
    assert result["run"]["coins"] == 10 and result["run"]["chaos"] == 0.05
    assert ledger["unaccounted"] == 0, ledger.get("unaccounted_sample")
    assert ledger["duplicates"] == 0
    assert ledger["false_errors"] == 0
    assert ledger["stray"] == 0
    assert ledger["prints_landed"] > 0 and ledger["trade_ids_unaccounted"] == 0, ledger
    assert ledger["prints_inside_given_up_ranges"] == 0
    assert done.returncode == 0, done.stderr[-2000:]


def test_most_of_it_landed(soak) -> None:
    _, result, _ = soak
    ledger = result["ledger"]
    assert ledger["expected"] >= 10 * 2 * 12  # at least two minutes of slots were judged
    # Not 80 %: on a loaded 2-core machine the hand-over between back-to-back 30 s landing windows (two task
    # starts) costs slots, and each restart costs Airflow's 30 s triggerer health threshold; those slots are
    # recorded as `missed_slot` with their reason (the accounting tests above). Measured 27-61 % under load.
    assert ledger["landed"] > 0.2 * ledger["expected"], (
        f"landed {ledger['landed_pct']} % of {ledger['expected']}; errors {ledger['errors_by_kind']}; "
        f"faults {[(f['label'], f['start_s'], f.get('back_after_s')) for f in result['faults']]}; "
        f"restarts {[e['event'] for e in result['timeline']]}"
    )


def test_the_faults_happened(soak) -> None:
    _, result, _ = soak
    assert [f["kind"] for f in result["faults"]] == ["kill", "postgres"]
    assert result["faults"][0]["killed_pid"], "the triggerer had no pid to kill"
    assert result["faults"][0].get("back_after_s") is not None, "the triggerer never came back"
    exchange = result["exchange"]
    n = exchange["market_requests"]
    assert n > 50, exchange
    assert abs(exchange["faulted"] / n - 0.05) <= 3 * (0.05 * 0.95 / n) ** 0.5, exchange  # 5 %, within 3 sd
    assert result["ledger"]["errors"] > 0  # chaos leaves its marks, each with its reason


def test_the_full_plan_breaks_everything_the_soak_promises() -> None:
    from bench.soak_plan import full_plan

    plan = full_plan(60)
    assert [f.at_s for f in plan if f.kind == "postgres"] == [300, 1200, 2100, 3000]
    assert all(f.duration_s == 45 for f in plan if f.kind == "postgres")
    assert sorted(f.program for f in plan if f.kind == "kill") == [
        "airflow-scheduler",
        "airflow-triggerer",
        "airflow-triggerer",
    ]
    assert [(f.kind, f.duration_s) for f in plan if f.kind == "exchange"] == [("exchange", 60)]
    ends = [(f.at_s, f.at_s + f.duration_s) for f in plan]
    assert all(b[0] - a[1] >= 60 for a, b in zip(ends, ends[1:], strict=False))  # never two at once


def test_catch_up_is_measured_to_the_first_window_after_the_fault() -> None:
    from datetime import UTC, datetime, timedelta

    from bench.soak_report import catch_up_s

    end = datetime(2026, 1, 1, 12, 0, 40, tzinfo=UTC)  # window 12:00:30 holds the end; 12:01:00 is the first after
    polls = [
        (100.0 + 5 * i, datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC) + timedelta(seconds=30 * (i // 6)))
        for i in range(20)
    ]
    assert catch_up_s(end, 100.0, polls) == 30.0
    assert catch_up_s(end, 100.0, [(t, None) for t, _ in polls]) is None


def test_memory_slope_is_fitted_over_one_process_only() -> None:
    from bench.soak_report import memory_figures

    grows = [(30.0 * i, {"x": {"pss_mib": 100 + i, "rss_mib": 150 + i, "pid": 1}}) for i in range(40)]
    restarted = [(30.0 * (40 + i), {"x": {"pss_mib": 50, "rss_mib": 60, "pid": 2}}) for i in range(5)]
    figures = memory_figures(grows + restarted)["x"]
    assert figures["pss_slope_mib_per_h"] == 120.0  # 1 MiB per 30 s, the restart's drop ignored
    assert figures["processes_seen"] == 2 and figures["pss_peak_mib"] == 139

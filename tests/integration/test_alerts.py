"""Alerts end to end: the real monitor DAG (`dag.test()`), the real PostgreSQL, the offline exchange, real dbt.

A local HTTP server stands in for the user's Slack webhook and a local SMTP server for their mail relay: each
condition must reach them once when it starts and once when it clears, and `.local/alerts.log` must show it. The
last test runs the maintenance DAG's pruning of old Airflow logs (the other half of keeping the demo healthy).
"""

from __future__ import annotations

import email
import json
import os
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg2
import pytest
import yaml
from tests.integration.landing_helpers import current_slot, lander_for, rows

from crypto_insights.config import DEFAULT_CONFIG_PATH, load_settings
from crypto_insights.monitoring.channels import alerts_log_path
from crypto_insights.paths import DAGS_DIR
from crypto_insights.postgres.connection import endpoint

pytestmark = pytest.mark.e2e

MAIL_TO = "ops@crypto-insights.test"
STALE_NEVER = 24 * 3600  # for the tests of other alerts: dbt may take minutes on a busy machine
MONITOR_CHECKS = (
    "check_ingest_freshness",
    "check_drop_rate",
    "check_transform_recovered",
    "check_data_tests_recovered",
)


class Webhook:
    """What a Slack-style incoming webhook received: one JSON body per POST."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the base class's name
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret"

    def alerts(self) -> list[tuple[str, str]]:
        return [(b["alert"]["key"], b["alert"]["status"]) for b in self.bodies]


class MailRelay(socketserver.ThreadingTCPServer):
    """Just enough SMTP (no TLS, no auth) to take messages: what a local mail relay does."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        super().__init__(("127.0.0.1", 0), _SmtpSession)


class _SmtpSession(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        relay: MailRelay = self.server  # type: ignore[assignment]
        recipients: list[str] = []
        self.wfile.write(b"220 relay.test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-relay.test\r\n250 8BITMIME\r\n")
            elif verb == b"RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                self.wfile.write(b"250 OK\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 end with .\r\n")
                body = b"".join(iter(lambda: self.rfile.readline() or b".\r\n", b".\r\n"))
                relay.messages.append((recipients, email.message_from_bytes(body)))
                recipients = []
                self.wfile.write(b"250 OK queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # HELO, MAIL, RSET, NOOP
                self.wfile.write(b"250 OK\r\n")


@pytest.fixture
def webhook(monkeypatch) -> Iterator[Webhook]:
    hook = Webhook()
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CRYPTO_INSIGHTS_ALERT_WEBHOOK", hook.url)
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture
def alert_config(monkeypatch, tmp_path) -> Callable[..., None]:
    """Use the project's config with other `alerts:` (and `kpis:`) settings (`CRYPTO_INSIGHTS_CONFIG`)."""

    def use(kpis: dict[str, Any] | None = None, **alerts: Any) -> None:
        config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
        config["alerts"].update(alerts)
        config["kpis"].update(kpis or {})
        path = tmp_path / f"crypto_insights_{len(list(tmp_path.glob('*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("CRYPTO_INSIGHTS_CONFIG", str(path))

    return use


@pytest.fixture
def mail_relay(monkeypatch, alert_config) -> Iterator[MailRelay]:
    """A mail relay on Airflow's `smtp_default` connection, and a config whose `alerts.email_to` is set."""
    relay = MailRelay()
    thread = threading.Thread(target=relay.serve_forever, daemon=True)
    thread.start()
    alert_config(email_to=[MAIL_TO])
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": relay.server_address[1],
                "extra": {
                    "disable_tls": True,
                    "disable_ssl": True,
                    "from_email": "alerts@crypto-insights.test",
                    "timeout": 5,
                    "retry_limit": 0,
                },
            }
        ),
    )
    yield relay
    relay.shutdown()
    relay.server_close()


@pytest.fixture
def warehouse(airflow_db, exchange, warehouse_db, monkeypatch) -> Iterator[Any]:
    """The Airflow connections on a fresh warehouse (migrated), and a lander on the offline exchange."""
    monkeypatch.setenv("COINBASE_API_URL", exchange.url)
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_WAREHOUSE", endpoint("loader", warehouse_db).url())
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_TRANSFORM", endpoint("transform", warehouse_db).url())
    lander = lander_for(warehouse_db)
    yield lander
    lander.close()


def _dag(dag_id: str):
    """A fresh parse of the DAG file (Cosmos keeps the connection it first looked up, per operator)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR / f"{dag_id}.py")).dags[dag_id]


def _outcomes(run) -> dict[str, dict]:
    """The monitor run's check outcomes (each task's return value), by task id."""
    conn = psycopg2.connect(**endpoint("airflow").connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select task_id, value from xcom where dag_id = %s and run_id = %s and key = 'return_value'",
                (run.dag_id, run.run_id),
            )
            return dict(cur.fetchall())
    finally:
        conn.close()


def _run_monitor() -> dict[str, dict]:
    run = _dag("crypto_monitor").test()
    assert run.state == "success"
    outcomes = _outcomes(run)
    assert set(MONITOR_CHECKS) <= set(outcomes), outcomes
    return outcomes


def _log_lines(start: int) -> list[str]:
    path = alerts_log_path()
    return path.read_text(encoding="utf-8")[start:].splitlines() if path.exists() else []


def _log_size() -> int:
    path = alerts_log_path()
    return path.stat().st_size if path.exists() else 0


def _land(lander, slot) -> None:
    """Land `slot` now through the real landing path (`now=slot`: fetched even when the test is slower)."""
    report = lander.land(slot, now=slot)
    assert report.books == len(load_settings().product_ids), report


def test_stalled_ingest_alerts_once_and_clears_once(warehouse, webhook, mail_relay, warehouse_db, capfd) -> None:
    log_start = _log_size()
    stale_after = load_settings().alerts.stale_after_s
    old_slot = current_slot() - timedelta(minutes=10)
    _land(warehouse, old_slot)  # the newest book is 10 minutes old: stalled

    first = _run_monitor()

    assert first["check_ingest_freshness"]["transition"] == "opened"
    assert first["check_drop_rate"]["transition"] == "unknown"  # dbt has not built staging in this warehouse
    assert first["check_transform_recovered"]["transition"] == "healthy"
    assert webhook.alerts() == [("ingest_stale", "firing")]
    firing = webhook.bodies[0]
    assert firing["text"].startswith("crypto-insights [FIRING] Ingest stalled: no order-book snapshot has landed")
    assert firing["alert"]["details"]["newest_slot_at"] == old_slot.isoformat()
    assert firing["alert"]["details"]["stale_after_s"] == stale_after
    [(recipients, message)] = mail_relay.messages
    assert recipients == [MAIL_TO]
    assert message["Subject"].startswith("crypto-insights [FIRING] Ingest stalled")
    assert "ALERT [FIRING] Ingest stalled" in capfd.readouterr().out  # the task log

    second = _run_monitor()  # still stalled: the incident stays open, nobody is told again

    assert second["check_ingest_freshness"]["transition"] == "still_firing"
    assert webhook.alerts() == [("ingest_stale", "firing")]
    assert len(mail_relay.messages) == 1

    _land(warehouse, current_slot())  # the ingest is back
    third = _run_monitor()

    assert third["check_ingest_freshness"]["transition"] == "resolved"
    assert webhook.alerts() == [("ingest_stale", "firing"), ("ingest_stale", "resolved")]
    assert webhook.bodies[1]["text"].startswith("crypto-insights [RESOLVED] Ingest stalled: order books land")
    assert len(mail_relay.messages) == 2
    lines = [line for line in _log_lines(log_start) if " ingest_stale: " in line]
    assert [line.split()[1] for line in lines] == ["FIRING", "RESOLVED"], lines
    incidents = rows(warehouse_db, "select alert_key, resolved_at is not null from raw.pipeline_alerts")
    assert incidents == [("ingest_stale", True)]


def test_drop_rate_alerts_above_the_threshold_only(warehouse, webhook, exchange, warehouse_db, alert_config) -> None:
    # one order size that the touch fills, so each side keeps exactly its top 100 rows (no more for slippage)
    one_small_order = {"slippage_usd": [1]}
    alert_config(stale_after_s=STALE_NEVER, kpis=one_small_order)
    # negative sizes on 4 of the best 10 levels of each side: 8 of the 200 verbatim levels of each book (4 %)
    exchange.faults.add("/products/*/book", "negative_size", levels=10)
    lander = lander_for(warehouse_db)  # reads the config just written
    try:
        _land(lander, current_slot() - timedelta(minutes=1))  # settled: counted at once by the check
    finally:
        lander.close()
    transform = _dag("crypto_transform").test()  # dbt builds staging, whose rejected rows the check counts
    assert transform.state == "success"

    below = _run_monitor()  # 4 % is within the default alerts.max_drop_rate (5 %)

    assert below["check_drop_rate"]["transition"] == "healthy"
    assert below["check_drop_rate"]["summary"] == "drop rates are at most 4.0% (book_level)"
    assert below["check_ingest_freshness"]["transition"] == "healthy"
    assert webhook.alerts() == []

    alert_config(stale_after_s=STALE_NEVER, max_drop_rate=0.03, kpis=one_small_order)
    above = _run_monitor()

    assert above["check_drop_rate"]["transition"] == "opened"
    assert webhook.alerts() == [("drop_rate", "firing")]
    alert = webhook.bodies[0]["alert"]
    assert alert["severity"] == "warning"
    levels = alert["details"]["entities"]["book_level"]
    assert levels["rows_rejected"] * 25 == levels["rows_seen"] > 0
    assert levels["by_rule"] == {"size_not_positive": levels["rows_rejected"]}
    assert alert["details"]["entities"]["ticker"]["rows_rejected"] == 0
    assert "book_level 4.0% (" in alert["summary"] and "alerts.max_drop_rate = 3%" in alert["summary"]
    assert rows(warehouse_db, "select alert_key from raw.pipeline_alerts where resolved_at is null") == [("drop_rate",)]
    counted = rows(warehouse_db, "select entity, count(*) from raw.pipeline_drop_counts group by 1 order by 1")
    traded = rows(warehouse_db, "select count(*) from raw.coinbase_trades")[0][0]
    assert traded > 0  # the offline exchange has printed by the time it first answers
    assert counted == [("book_bucket", 1), ("book_level", 1), ("book_snapshot", 1), ("ticker", 1), ("trade", 1)]
    assert alert["details"]["entities"]["trade"]["rows_seen"] == traded  # prints, by the slot that fetched them
    assert alert["details"]["entities"]["trade"]["rows_rejected"] == 0


def test_failing_transform_alerts_once_and_clears_when_the_marts_build(
    warehouse, webhook, warehouse_db, alert_config, monkeypatch
) -> None:
    alert_config(stale_after_s=STALE_NEVER)
    _land(warehouse, current_slot())
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_TRANSFORM", endpoint("transform", "no_such_database").url())

    for attempt in range(2):  # fails twice: the second failure belongs to the open incident
        transform = _dag("crypto_transform")
        for task in transform.tasks:
            task.retries = 0  # the final failure at once (the DAG's retries and backoff would only slow the test)
        assert transform.test().state == "failed"
        assert webhook.alerts() == [("transform_failed", "firing")], attempt

    alert = webhook.bodies[0]["alert"]
    assert alert["title"] == "crypto_transform: task dbt_run failed"
    assert alert["details"]["task_id"] == "dbt_run" and alert["details"]["exception"]
    open_incident = rows(warehouse_db, "select alert_key from raw.pipeline_alerts where resolved_at is null")
    assert open_incident == [("transform_failed",)]
    monkeypatch.setenv("AIRFLOW_CONN_CRYPTO_TRANSFORM", endpoint("transform", warehouse_db).url())
    assert _run_monitor()["check_transform_recovered"]["transition"] == "still_firing"  # no build since

    assert _dag("crypto_transform").test().state == "success"  # updates the crypto_marts asset
    outcomes = _run_monitor()

    assert outcomes["check_transform_recovered"]["transition"] == "resolved"
    assert webhook.alerts() == [("transform_failed", "firing"), ("transform_failed", "resolved")]
    assert webhook.bodies[1]["alert"]["summary"].startswith("crypto_transform built the marts again at ")


def test_failing_data_tests_alert_once_and_clear_when_they_pass(warehouse, webhook, warehouse_db, alert_config) -> None:
    alert_config(stale_after_s=STALE_NEVER)
    _land(warehouse, current_slot())
    assert _dag("crypto_transform").test().state == "success"
    tests = _dag("crypto_data_tests")
    for task in tests.tasks:
        task.retries = 0
    assert tests.test().state == "success"
    assert webhook.alerts() == []
    # a mart row no model would write: the accepted-values test of the 30 s mart fails
    _execute(
        warehouse_db,
        "update marts.fct_order_book_30s set intent = 'bogus' "
        "where window_start = (select max(window_start) from marts.fct_order_book_30s)",
    )

    for attempt in range(2):  # the second failure belongs to the open incident
        assert tests.test().state == "failed"
        assert webhook.alerts() == [("data_tests_failed", "firing")], attempt
    assert webhook.bodies[0]["alert"]["title"] == "crypto_data_tests: task dbt_test failed"
    assert _run_monitor()["check_data_tests_recovered"]["transition"] == "still_firing"

    _execute(warehouse_db, "update marts.fct_order_book_30s set intent = 'neutral' where intent = 'bogus'")
    assert tests.test().state == "success"  # updates the crypto_marts_tested asset
    assert _run_monitor()["check_data_tests_recovered"]["transition"] == "resolved"
    assert webhook.alerts() == [("data_tests_failed", "firing"), ("data_tests_failed", "resolved")]
    assert webhook.bodies[1]["alert"]["summary"].startswith("crypto_data_tests passed again at ")


def _execute(db: str, statement: str) -> None:
    conn = psycopg2.connect(**endpoint("transform", db).connect_kwargs())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def test_maintenance_prunes_airflow_logs_past_the_retention(airflow_db, tmp_path, monkeypatch) -> None:
    logs = tmp_path / "logs"
    old = logs / "dag_id=coinbase_ingest" / "run_id=old" / "task_id=land_window" / "attempt=1.log"
    new = logs / "dag_id=coinbase_ingest" / "run_id=new" / "task_id=land_window" / "attempt=1.log"
    for path in (old, new):
        path.parent.mkdir(parents=True)
        path.write_text("a task log\n")
    days = load_settings().ingest.retention_days
    stamp = time.time() - (days + 1) * 86400
    os.utime(old, (stamp, stamp))
    (logs / "latest").symlink_to(old)  # links are never followed nor removed
    monkeypatch.setenv("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(logs))

    # only the pruning runs: the partition and dbt tasks are marked successful without running
    run = _dag("crypto_maintenance").test(mark_success_pattern=r"(?!prune_airflow_logs$).*")

    assert run.state == "success"
    assert _outcomes(run)["prune_airflow_logs"] == {"files": 1, "bytes": len("a task log\n"), "folders": 2}
    assert not (logs / "dag_id=coinbase_ingest" / "run_id=old").exists()
    assert new.exists() and (logs / "latest").is_symlink()

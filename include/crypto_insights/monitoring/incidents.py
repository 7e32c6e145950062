"""Alert once, clear once: incidents in `raw.pipeline_alerts` (sql/003_alerts.sql), at most one open per alert.

A check that fires opens an incident and sends one message; firing again only refreshes the open incident. A check
that sees health again resolves it and sends one "resolved" message. Each change is committed only once its
message was delivered: a failed delivery rolls the change back, so the next run (or the task's retry) sends it
again (at least once, never silently lost). A check that cannot judge (`firing=None`) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from psycopg2.extensions import connection as Connection

from crypto_insights.monitoring.alerts import Alert, Severity, format_duration

Deliver = Callable[[Alert], None]
Transition = Literal["opened", "still_firing", "resolved", "healthy", "unknown"]


@dataclass(frozen=True)
class CheckResult:
    """What one evaluation of a condition saw. `title` names the alert; `summary` says what was seen."""

    key: str
    firing: bool | None  # None: nothing to judge by (no data yet, a dbt view not built): the state is kept
    title: str
    summary: str
    severity: Severity = "error"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Incident:
    incident_id: int
    key: str
    title: str
    summary: str
    opened_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    key: str
    transition: Transition
    summary: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "transition": self.transition, "summary": self.summary}


_COLUMNS = "incident_id, alert_key, title, summary, opened_at, last_seen_at, resolved_at"


def open_incidents(conn: Connection) -> dict[str, Incident]:
    with conn, conn.cursor() as cur:
        cur.execute(f"select {_COLUMNS} from raw.pipeline_alerts where resolved_at is null")
        return {row[1]: Incident(*row) for row in cur.fetchall()}


def open_incident(conn: Connection, alert: Alert, deliver: Deliver) -> bool:
    """Open the incident of `alert.key` and deliver `alert`, or refresh the open one silently; True if opened."""
    with conn, conn.cursor() as cur:
        params = {
            "key": alert.key,
            "severity": alert.severity,
            "title": alert.title,
            "summary": alert.summary,
            "details": json.dumps(alert.details, default=str),
        }
        cur.execute(
            "insert into raw.pipeline_alerts (alert_key, severity, title, summary, details) "
            "values (%(key)s, %(severity)s, %(title)s, %(summary)s, %(details)s) "
            "on conflict (alert_key) where resolved_at is null do nothing returning incident_id",
            params,
        )
        if cur.fetchone() is not None:
            deliver(alert)  # raises on failure: the insert is rolled back and the next run opens it again
            return True
        cur.execute(
            "update raw.pipeline_alerts set last_seen_at = now(), summary = %(summary)s, details = %(details)s "
            "where alert_key = %(key)s and resolved_at is null",
            params,
        )
        return False


def resolve_incident(
    conn: Connection,
    key: str,
    resolution: str,
    deliver: Deliver,
    *,
    seen_before: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> Incident | None:
    """Resolve the open incident of `key` (only if last seen firing before `seen_before`, when given) and deliver
    one "resolved" message; returns the incident, or None when none was open."""
    with conn, conn.cursor() as cur:
        cur.execute(
            f"update raw.pipeline_alerts set resolved_at = now(), resolution = %s "
            f"where alert_key = %s and resolved_at is null and (%s::timestamptz is null or last_seen_at < %s) "
            f"returning {_COLUMNS}",
            (resolution, key, seen_before, seen_before),
        )
        row = cur.fetchone()
        if row is None:
            return None
        incident = Incident(*row)
        lasted = incident.resolved_at - incident.opened_at if incident.resolved_at else None
        deliver(
            Alert(
                key=key,
                status="resolved",
                title=incident.title,
                severity="warning",
                summary=f"{resolution} (open since {incident.opened_at.isoformat(timespec='seconds')}"
                + (f", for {format_duration(lasted.total_seconds())})" if lasted else ")"),
                details={
                    "incident_id": incident.incident_id,
                    "opened_at": incident.opened_at.isoformat(),
                    "last_summary": incident.summary,
                    **(details or {}),
                },
            )
        )
        return incident


def apply_check(conn: Connection, result: CheckResult, deliver: Deliver) -> Outcome:
    """Turn one evaluation into at most one message: opened, resolved, or nothing."""
    if result.firing is None:
        return Outcome(result.key, "unknown", result.summary)
    if result.firing:
        alert = Alert(
            key=result.key,
            status="firing",
            title=result.title,
            summary=result.summary,
            severity=result.severity,
            details=result.details,
        )
        opened = open_incident(conn, alert, deliver)
        return Outcome(result.key, "opened" if opened else "still_firing", result.summary)
    resolved = resolve_incident(conn, result.key, result.summary, deliver, details=result.details)
    return Outcome(result.key, "resolved" if resolved else "healthy", result.summary)

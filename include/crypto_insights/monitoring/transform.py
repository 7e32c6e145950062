"""Has the transform recovered? A `transform_failed` incident (opened by the failure notifier of
`crypto_transform`) is resolved once the marts were built after its last failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from psycopg2.extensions import connection as Connection

from crypto_insights.monitoring.alerts import TRANSFORM_FAILED
from crypto_insights.monitoring.incidents import Deliver, Outcome, open_incidents, resolve_incident


def transform_recovery(conn: Connection, marts_built_at: Callable[[], datetime | None], deliver: Deliver) -> Outcome:
    """Resolve the open `transform_failed` incident when `marts_built_at()` (the newest successful build, asked
    only while an incident is open) is later than the incident's last failure."""
    incident = open_incidents(conn).get(TRANSFORM_FAILED)
    if incident is None:
        return Outcome(TRANSFORM_FAILED, "healthy", "no transform failure is open")
    built = marts_built_at()
    if built is None or built <= incident.last_seen_at:
        since = f"; the marts were last built at {built.isoformat(timespec='seconds')}" if built else ""
        return Outcome(TRANSFORM_FAILED, "still_firing",
                       f"last failure at {incident.last_seen_at.isoformat(timespec='seconds')}{since}")  # fmt: skip
    resolution = f"crypto_transform built the marts again at {built.isoformat(timespec='seconds')}"
    resolved = resolve_incident(conn, TRANSFORM_FAILED, resolution, deliver, seen_before=built,
                                details={"marts_built_at": built.isoformat()})  # fmt: skip
    return Outcome(TRANSFORM_FAILED, "resolved" if resolved else "still_firing", resolution)

"""Has the transform recovered? An incident opened by a failure notifier — `transform_failed` (the micro-batch of
`crypto_transform`) or `data_tests_failed` (`crypto_data_tests`) — is resolved once the asset that task updates on
success was updated after its last failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from psycopg2.extensions import connection as Connection

from crypto_insights.monitoring.alerts import DATA_TESTS_FAILED, TRANSFORM_FAILED
from crypto_insights.monitoring.incidents import Deliver, Outcome, open_incidents, resolve_incident

# alert key -> (what the asset's update means, the details key it is reported under)
RECOVERED_BY = {
    TRANSFORM_FAILED: ("crypto_transform built the marts again", "marts_built_at"),
    DATA_TESTS_FAILED: ("crypto_data_tests passed again", "tests_passed_at"),
}


def transform_recovery(
    conn: Connection, updated_at: Callable[[], datetime | None], deliver: Deliver, key: str = TRANSFORM_FAILED
) -> Outcome:
    """Resolve the open `key` incident when `updated_at()` (the newest success, asked only while an incident is
    open) is later than the incident's last failure."""
    what, detail = RECOVERED_BY[key]
    incident = open_incidents(conn).get(key)
    if incident is None:
        return Outcome(key, "healthy", f"no {key.replace('_', ' ')} incident is open")
    done = updated_at()
    if done is None or done <= incident.last_seen_at:
        since = f"; last success at {done.isoformat(timespec='seconds')}" if done else ""
        return Outcome(
            key, "still_firing", f"last failure at {incident.last_seen_at.isoformat(timespec='seconds')}{since}"
        )
    resolution = f"{what} at {done.isoformat(timespec='seconds')}"
    resolved = resolve_incident(conn, key, resolution, deliver, seen_before=done, details={detail: done.isoformat()})
    return Outcome(key, "resolved" if resolved else "still_firing", resolution)

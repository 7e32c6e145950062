"""What an alert says: one message per incident opened and one per incident resolved, in every channel."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["firing", "resolved"]
Severity = Literal["warning", "error"]

# The alerts the pipeline raises (the `alert_key` of raw.pipeline_alerts).
INGEST_STALE = "ingest_stale"
DROP_RATE = "drop_rate"
TRANSFORM_FAILED = "transform_failed"
DATA_TESTS_FAILED = "data_tests_failed"


@dataclass(frozen=True)
class Alert:
    """One message: an incident opened (`firing`) or resolved, or a one-off failure (no incident)."""

    key: str
    status: Status
    title: str
    summary: str
    severity: Severity = "error"
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def headline(self) -> str:
        return f"[{self.status.upper()}] {self.title}: {self.summary}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "details": self.details,
            "at": self.at.isoformat(),
        }

    def payload(self) -> dict[str, Any]:
        """The webhook body: `text` is what Slack and Mattermost incoming webhooks show; `alert` is for machines."""
        return {"text": f"crypto-insights {self.headline}", "alert": self.as_dict()}

    def log_line(self) -> str:
        """One line of `.local/alerts.log`: time, status, key, headline, details as JSON."""
        details = json.dumps(self.details, default=str, sort_keys=True)
        stamp = self.at.isoformat(timespec="seconds")
        return f"{stamp} {self.status.upper():8} {self.key}: {self.title}: {self.summary} {details}"


def format_duration(seconds: float) -> str:
    """45s, 12m05s, 3h20m."""
    whole = int(seconds)
    if whole < 120:
        return f"{whole}s"
    if whole < 7200:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"

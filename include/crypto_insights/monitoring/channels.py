"""The plain channels of an alert: a line in `.local/alerts.log` (always) and a JSON POST to a webhook (when set).

E-mail goes through Airflow's SMTP connection and lives with the notifier (`crypto_insights.airflow.notifiers`).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from crypto_insights.monitoring.alerts import Alert
from crypto_insights.paths import local_dir

WEBHOOK_TIMEOUT_S = (3.05, 10)  # connect, read
_APPEND_LOCK = threading.Lock()


def alerts_log_path() -> Path:
    return local_dir() / "alerts.log"


def append_to_alerts_log(alert: Alert, path: Path | None = None) -> Path:
    """Append the alert's line to `.local/alerts.log` (`tail -f` it during the demo); returns the file."""
    path = path or alerts_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _APPEND_LOCK, path.open("a", encoding="utf-8") as out:  # one write per line: whole lines, even if shared
        out.write(alert.log_line() + "\n")
    return path


def post_to_webhook(url: str, alert: Alert) -> int:
    """POST the alert as JSON (`alert.payload()`); returns the HTTP status, raises on a non-2xx answer."""
    import requests

    response = requests.post(
        url,
        data=json.dumps(alert.payload(), default=str),
        timeout=WEBHOOK_TIMEOUT_S,
        headers={"Content-Type": "application/json", "User-Agent": "crypto-insights-alerts/1"},
    )
    response.raise_for_status()
    return response.status_code

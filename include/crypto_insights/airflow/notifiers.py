"""Airflow notifiers (`airflow.sdk.BaseNotifier`) that tell someone when data stops.

- `PipelineAlertNotifier(alert)` delivers one prepared `Alert` to every channel: the task log and `.local/alerts.log`
  always, a JSON POST to `alerts.webhook_url` ($CRYPTO_INSIGHTS_ALERT_WEBHOOK) when set, and an e-mail to
  `alerts.email_to` through the SMTP provider's `SmtpNotifier` and the connection `smtp_default` when set (the
  connection names the sender in its `from_email` extra). The monitor DAG sends what its checks decide with it.
- `TaskFailureNotifier(alert_key=...)` is an `on_failure_callback`: it turns the failed task's context into an
  alert. With an `alert_key` the alert is sent once per incident (`raw.pipeline_alerts`, through the warehouse
  connection); the monitor DAG resolves it. Without one, every failure is sent.

Usage::

    @dag(default_args={"on_failure_callback": TaskFailureNotifier(alert_key="transform_failed")}, ...)

A channel that fails does not stop the others; the notifier then raises, naming each failure.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from airflow.sdk import BaseNotifier

from crypto_insights.airflow.assets import WAREHOUSE_CONN_ID
from crypto_insights.monitoring.alerts import Alert, Severity

SMTP_CONN_ID = "smtp_default"
MAX_SUMMARY_CHARS = 400
MAX_EXCEPTION_CHARS = 4000


class AlertDeliveryError(RuntimeError):
    """At least one configured channel did not take the alert."""


class PipelineAlertNotifier(BaseNotifier):
    """Deliver `alert` to every configured channel.

    :param alert: what to say.
    :param smtp_conn_id: the Airflow SMTP connection for e-mail (used only when `alerts.email_to` is set).
    :param config_path: the config file; default: $CRYPTO_INSIGHTS_CONFIG or the project's file.
    """

    def __init__(
        self, alert: Alert, *, smtp_conn_id: str = SMTP_CONN_ID, config_path: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.alert = alert
        self.smtp_conn_id = smtp_conn_id
        self.config_path = config_path

    def notify(self, context: Any) -> None:
        from crypto_insights.config import load_settings
        from crypto_insights.monitoring.channels import append_to_alerts_log, post_to_webhook

        alert, settings = self.alert, load_settings(self.config_path)
        if alert.status == "resolved":
            self.log.info("ALERT %s %s", alert.headline, alert.details)
        elif alert.severity == "error":
            self.log.error("ALERT %s %s", alert.headline, alert.details)
        else:
            self.log.warning("ALERT %s %s", alert.headline, alert.details)
        failures: list[str] = []
        try:
            path = append_to_alerts_log(alert)
            self.log.info("alert appended to %s", path)
        except OSError as exc:
            failures.append(f"alerts.log: {exc}")
        if settings.alerts.webhook_url:
            try:
                status = post_to_webhook(settings.alerts.webhook_url, alert)
                self.log.info("alert posted to the webhook (HTTP %d)", status)
            except Exception as exc:  # requests' errors, never the URL's secret path in the message
                failures.append(f"webhook: {type(exc).__name__}: {_without_url(str(exc))}")
        if settings.alerts.email_to:
            try:
                self._email(alert, list(settings.alerts.email_to), context)
                self.log.info("alert e-mailed to %s", ", ".join(settings.alerts.email_to))
            except Exception as exc:
                failures.append(f"e-mail: {type(exc).__name__}: {exc}")
        if failures:
            raise AlertDeliveryError(f"alert {alert.key} ({alert.status}) not delivered to: {'; '.join(failures)}")

    def _email(self, alert: Alert, to: list[str], context: Any) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        rows = "".join(
            f"<tr><th align='left'>{html.escape(str(k))}</th><td><pre>{html.escape(str(v))}</pre></td></tr>"
            for k, v in alert.details.items()
        )
        body = (
            f"<p><b>{html.escape(alert.title)}</b> ({alert.status}, {alert.severity})</p>"
            f"<p>{html.escape(alert.summary)}</p><table>{rows}</table>"
            f"<p><small>crypto-insights, {alert.at.isoformat(timespec='seconds')}</small></p>"
        )
        email = SmtpNotifier(
            to=to, subject=f"crypto-insights {alert.headline}"[:200], html_content=body, smtp_conn_id=self.smtp_conn_id
        )
        email.notify(dict(context or {}))


def alert_sender(context: Any, **notifier_kwargs: Any) -> Callable[[Alert], None]:
    """A `deliver(alert)` for the monitoring checks: each alert through a `PipelineAlertNotifier` and `context`."""

    def deliver(alert: Alert) -> None:
        PipelineAlertNotifier(alert, **notifier_kwargs)(context)

    return deliver


class TaskFailureNotifier(BaseNotifier):
    """`on_failure_callback`: an alert for the failed task, once per incident when `alert_key` is given.

    :param alert_key: the incident this failure belongs to (e.g. `transform_failed`); None: send every failure.
    :param title: the alert's title (templated); default "<dag_id>: task <task_id> failed".
    :param severity: `error` or `warning`.
    :param warehouse_conn_id: where the incident state lives (role crypto_loader). When the warehouse cannot be
        reached the alert is sent anyway: better twice than never.
    """

    template_fields = ("title",)

    def __init__(
        self,
        *,
        alert_key: str | None = None,
        title: str | None = None,
        severity: Severity = "error",
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        smtp_conn_id: str = SMTP_CONN_ID,
        config_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.alert_key = alert_key
        self.title = title
        self.severity = severity
        self.warehouse_conn_id = warehouse_conn_id
        self.smtp_conn_id = smtp_conn_id
        self.config_path = config_path

    def alert_from(self, context: Any) -> Alert:
        ti = context.get("ti") or context.get("task_instance")
        dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
        task_id = getattr(ti, "task_id", "?")
        exception = context.get("exception")
        error = f"{type(exception).__name__}: {exception}" if exception else "no exception recorded"
        first_line = next((line for line in error.splitlines() if line.strip()), error)
        details = {
            "dag_id": dag_id,
            "task_id": task_id,
            "run_id": context.get("run_id") or getattr(ti, "run_id", None),
            "try_number": getattr(ti, "try_number", None),
            "log_url": getattr(ti, "log_url", None),
            "exception": error[:MAX_EXCEPTION_CHARS],
        }
        return Alert(
            key=self.alert_key or f"task_failed:{dag_id}.{task_id}",
            status="firing",
            severity=self.severity,
            title=self.title or f"{dag_id}: task {task_id} failed",
            summary=f"run {details['run_id']}, try {details['try_number']}: {first_line}"[:MAX_SUMMARY_CHARS],
            details={k: v for k, v in details.items() if v is not None},
        )

    def notify(self, context: Any) -> None:
        alert = self.alert_from(context)
        deliver = alert_sender(context, smtp_conn_id=self.smtp_conn_id, config_path=self.config_path)
        if self.alert_key is None:
            deliver(alert)
            return
        attempted = False

        def deliver_once(a: Alert) -> None:
            nonlocal attempted
            attempted = True
            deliver(a)

        try:
            self._open_incident(alert, deliver_once)
        except Exception as exc:
            if attempted:  # told already, or the channels failed: the state rolled back, nothing to add
                raise
            self.log.warning(
                "alert state unavailable (%s: %s): sending %s without the once-per-incident check",
                type(exc).__name__,
                exc,
                alert.key,
            )
            deliver(alert)

    def _open_incident(self, alert: Alert, deliver: Callable[[Alert], None]) -> None:
        from crypto_insights.airflow.hooks import warehouse_connection
        from crypto_insights.monitoring.incidents import open_incident

        with warehouse_connection(self.warehouse_conn_id) as conn:
            if not open_incident(conn, alert, deliver):
                self.log.info("%s is already open: not sent again (%s)", alert.key, alert.summary)


def _without_url(message: str) -> str:
    """requests puts the URL in its messages; a webhook URL's path is its secret."""
    import re

    return re.sub(r"https?://\S+", "<webhook url>", message)

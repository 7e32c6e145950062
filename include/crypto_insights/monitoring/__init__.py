"""Being told when data stops: checks over the warehouse, incident state that alerts once and clears once, the plain
channels (webhook, `.local/alerts.log`), and the pruning of old Airflow task logs (see docs/architecture.md#alerts).

Airflow delivers the alerts (`crypto_insights.airflow.notifiers`) from the monitor DAG (`dags/crypto_monitor.py`)
and from task failure callbacks; nothing here imports Airflow.
"""

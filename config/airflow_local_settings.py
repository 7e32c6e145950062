"""Airflow's local settings: crypto_insights.airflow.local_settings (make demo writes this file into
$AIRFLOW_HOME/config; docker-compose.yaml mounts the repo's config/ there)."""
import crypto_insights.airflow.local_settings  # noqa: F401

__all__: list[str] = []  # nothing here replaces Airflow's own settings

"""dbt for the warehouse: settings rendered as dbt vars, and one way to run dbt (CLI, tests, Airflow)."""

"""Airflow 3 building blocks in provider style: assets, hooks, triggers and operators."""

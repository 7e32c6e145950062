# syntax=docker/dockerfile:1.7
# One image for every service of docker-compose.yaml (Airflow, the Superset bootstrap and web server, the offline
# exchange, the warehouse init), installed exactly as on a laptop: `make install install-superset` from the lock
# files — the pipeline venv (.venv: Airflow + dbt + crypto_insights) and Superset's own (.venv-superset).
# Build context: the repository root (docker compose build). Ignore rules: crypto-insights.Dockerfile.dockerignore.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    DO_NOT_TRACK=1 \
    SCARF_ANALYTICS=false \
    UV_CACHE_DIR=/tmp/uv-cache \
    CRYPTO_INSIGHTS_HOME=/var/lib/crypto-insights

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends make curl libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 50000 --home-dir /home/crypto crypto \
 && install -d -o crypto -g crypto /opt/crypto-insights /var/lib/crypto-insights \
      /var/lib/crypto-insights/airflow /var/lib/crypto-insights/superset

WORKDIR /opt/crypto-insights
USER crypto

# Dependencies first (a layer that changes only with the lock files), then the project on top.
COPY --chown=crypto:crypto Makefile pyproject.toml requirements.txt ./
COPY --chown=crypto:crypto requirements/ requirements/
COPY --chown=crypto:crypto include/crypto_insights/__init__.py include/crypto_insights/__init__.py
RUN make install install-superset PYTHON=python3.11 && rm -rf /tmp/uv-cache

COPY --chown=crypto:crypto include/ include/
COPY --chown=crypto:crypto dags/ dags/
COPY --chown=crypto:crypto dbt_project/ dbt_project/
COPY --chown=crypto:crypto superset/ superset/
COPY --chown=crypto:crypto docker/ docker/
RUN .local/bootstrap/bin/uv pip install --quiet --python .venv/bin/python --no-deps --compile-bytecode -e . \
 && .venv/bin/crypto-insights --help > /dev/null

ENV PATH=/opt/crypto-insights/.venv/bin:$PATH

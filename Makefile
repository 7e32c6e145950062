# Crypto Insights — one command to run it all (`make demo`), one to test it (`make test`).
# Both create what they need: a pinned uv, the pipeline venv (.venv: Airflow + dbt + crypto_insights)
# and, where needed, Superset's own venv (.venv-superset). Re-running is cheap: stamps skip finished steps.

PYTHON ?= python3
LOCAL  := .local
BOOT   := $(LOCAL)/bootstrap
UV     := $(BOOT)/bin/uv
VENV   := .venv
SS_VENV := .venv-superset
CLI    := $(VENV)/bin/crypto-insights
export UV_CACHE_DIR ?= $(CURDIR)/$(LOCAL)/uv-cache
# Airflow/dbt/Superset must never phone home from a laptop demo or CI.
export DO_NOT_TRACK := 1
export SCARF_ANALYTICS := false

.PHONY: demo stop test bench soak lock install install-superset system-deps lint clean status

demo: install install-superset
	$(CLI) demo up

stop:
	@if [ -x $(CLI) ]; then $(CLI) demo down; else echo "nothing to stop (no $(VENV))"; fi

status: install
	$(CLI) demo status

test: install install-superset system-deps lint
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Debian's Chromium drives the dashboard tests (no browser downloads: the network reaches package registries only).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "the dashboard tests need Chromium: install your distribution's chromium package" >&2; exit 1; fi; }

# The Python as ruff formats and checks it (pyproject.toml); `make test` runs it first.
lint: install
	$(VENV)/bin/ruff format --check include dags tests bench docker
	$(VENV)/bin/ruff check include dags tests bench docker

bench: install
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

# The demo under exchange chaos and scheduled outages for SOAK_MINUTES, then the ledger: nothing lost, nothing twice.
# Writes docs/reliability.md, docs/reliability.json and docs/images/reliability_*.png; fails when anything is lost.
SOAK_MINUTES ?= 60
soak: install install-superset
	$(VENV)/bin/python -m bench.soak --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

install: $(VENV)/.installed
install-superset: $(SS_VENV)/.installed

$(UV): requirements/uv.txt
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet --disable-pip-version-check -r requirements/uv.txt
	@touch $@

$(VENV)/.installed: $(UV) requirements/pipeline.lock.txt pyproject.toml
	@test -d $(VENV) || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(VENV)/bin/python --compile-bytecode requirements/pipeline.lock.txt
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps --compile-bytecode -e .
	@touch $@

$(SS_VENV)/.installed: $(UV) requirements/superset.lock.txt
	@test -d $(SS_VENV) || $(UV) venv --quiet --python $(PYTHON) $(SS_VENV)
	$(UV) pip sync --quiet --python $(SS_VENV)/bin/python --compile-bytecode requirements/superset.lock.txt
	@touch $@

# Regenerate the lock files from requirements.txt and requirements/superset.in.
lock: $(UV)
	$(UV) pip compile --quiet --python-version 3.11 requirements.txt -o requirements/pipeline.lock.txt
	$(UV) pip compile --quiet --python-version 3.11 requirements/superset.in -o requirements/superset.lock.txt

clean: stop
	rm -rf $(LOCAL) $(VENV) $(SS_VENV) dbt_project/target dbt_project/logs

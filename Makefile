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

.DEFAULT_GOAL := help  # `make` alone lists the targets; `make demo` starts the stack
.PHONY: help demo stop test bench soak lock install install-superset system-deps lint clean status

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "  make %-17s %s\n", $$1, $$2 }'

demo: install install-superset ## set everything up and run the pipeline end to end (prints URLs and logins)
	$(CLI) demo up

stop: ## stop everything the demo started
	@if [ -x $(CLI) ]; then $(CLI) demo down; else echo "nothing to stop (no $(VENV))"; fi

status: install ## show what the demo runs
	$(CLI) demo status

test: install install-superset system-deps lint ## lint, then the whole suite (real PostgreSQL, dbt, Airflow, Superset, Chromium)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Debian's Chromium drives the dashboard tests (no browser downloads: the network reaches package registries only).
system-deps: ## install Chromium for the dashboard tests (Debian's package)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "the dashboard tests need Chromium: install your distribution's chromium package" >&2; exit 1; fi; }

# The Python as ruff formats and checks it (pyproject.toml), the dbt SQL as sqlfluff lints it (.sqlfluff, dbt
# templater, compiled against a throwaway PostgreSQL); `make test` runs it first.
lint: install ## ruff format --check, ruff check, sqlfluff lint of the dbt models and tests
	$(VENV)/bin/ruff format --check include dags tests bench docker
	$(VENV)/bin/ruff check include dags tests bench docker
	$(VENV)/bin/python -m crypto_insights.transform.sql_lint

bench: install ## run the benchmarks (BENCH_ARGS="reduce landing ..."), write docs/benchmarks.*
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

# The demo under exchange chaos and scheduled outages for SOAK_MINUTES, then the ledger: nothing lost, nothing twice.
# Writes docs/reliability.md, docs/reliability.json and docs/images/reliability_*.png; fails when anything is lost.
SOAK_MINUTES ?= 60
soak: install install-superset ## the demo under chaos for SOAK_MINUTES (60), then the ledger: nothing lost
	$(VENV)/bin/python -m bench.soak --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

install: $(VENV)/.installed ## create .venv (Airflow, dbt, this project) from the lock file
install-superset: $(SS_VENV)/.installed ## create .venv-superset (Superset's own) from its lock file

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
lock: $(UV) ## regenerate the lock files from requirements.txt and requirements/superset.in
	$(UV) pip compile --quiet --python-version 3.11 requirements.txt -o requirements/pipeline.lock.txt
	$(UV) pip compile --quiet --python-version 3.11 requirements/superset.in -o requirements/superset.lock.txt

clean: stop ## stop, then remove .local/, the venvs and dbt artifacts
	@if [ -x $(CLI) ]; then $(CLI) postgres destroy --yes; fi  # also a cluster kept in /var/tmp (private home)
	rm -rf $(LOCAL) $(VENV) $(SS_VENV) dbt_project/target dbt_project/logs

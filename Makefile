# covid_etl: daily COVID-19 ETL on Apache Airflow 3.3.1 / Amazon MWAA.
# `make run` runs the pipeline once on embedded defaults; `make test` runs every check. Both set up
# what they need first (.venv from the hashed lock, and the Debian packages they use where missing:
# `make run` only PostgreSQL's server; `make test` checks all its prerequisites before anything else).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export PYTHONPATH := $(CURDIR)/include:$(CURDIR)/scripts

.DEFAULT_GOAL := help
.PHONY: help venv lock check prerequisites postgres-server system-deps run check-sources test lint check-secrets test-python check-terraform check-compose screenshots up down package deploy bench bench-quick clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# .venv is built with Python 3.12, what MWAA 3.3.1 runs, when the machine has it (scripts/venv_python.sh;
# VENV_PYTHON=... to choose), else python3. The stamp names the version: a different one rebuilds .venv.
# Without a Python >= 3.11, whatever needs .venv stops at once with venv_python.sh's line saying why.
# (Not named VENV_PYTHON: a Make variable of that name would replace the user's in the recipes' environment.)
VENV_INTERPRETER := $(shell bash scripts/venv_python.sh 2>/dev/null)
ifeq ($(VENV_INTERPRETER),)
VENV_STAMP := $(VENV)/.python-unsuitable
$(VENV_STAMP):
	@bash scripts/venv_python.sh >/dev/null
else
VENV_PYTHON_VERSION := $(shell "$(VENV_INTERPRETER)" -c 'import platform; print(platform.python_version())')
VENV_STAMP := $(VENV)/.python-$(VENV_PYTHON_VERSION)

$(VENV_STAMP):
	@echo "Building $(VENV) with Python $(VENV_PYTHON_VERSION) ($(VENV_INTERPRETER))"
	rm -rf $(VENV)
	"$(VENV_INTERPRETER)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@
endif

$(BIN)/uv: | $(VENV_STAMP)

$(VENV)/.synced: requirements-dev.lock $(VENV_STAMP) | $(BIN)/uv
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes requirements-dev.lock
	touch $@

venv: $(VENV)/.synced ## Create .venv from requirements-dev.lock with Python 3.12 if present (Airflow 3.3.1, providers, test tools)

lock: | $(BIN)/uv ## Re-resolve requirements-dev.lock against Airflow's 3.3.1 constraints (constraints/)
	mkdir -p build && grep -v '^--constraint' requirements.txt > build/requirements-mwaa.in
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	  --constraint constraints/constraints-3.3.1-python3.12.txt requirements-dev.in -o requirements-dev.lock

prerequisites: ## Check within seconds all `make test` needs besides .venv (Python, PostgreSQL, Chromium, Terraform, ...)
	bash scripts/check_prerequisites.sh

postgres-server: ## Install PostgreSQL's server binaries when missing (all that `make run` and `make up` need)
	bash scripts/install_system_deps.sh postgresql

system-deps: ## Install missing Debian packages: PostgreSQL server, docker-compose, Chromium
	bash scripts/install_system_deps.sh postgresql chromium docker-compose

# With COVID_ETL_DB_URL, `make run` uses that database and needs no PostgreSQL server of its own.
run: $(if $(COVID_ETL_DB_URL),,postgres-server) venv ## Run the DAG once (airflow dags test) on embedded PostgreSQL and local SNS; see README
	$(BIN)/python scripts/run_pipeline.py

check-sources: venv ## Download every dataset's latest files and validate them (no database, no SNS)
	$(BIN)/python scripts/check_sources.py

# The fast tier: no database, browser or Airflow start.
check: venv lint ## Lint and the unit tests (tests/unit), in well under a minute
	$(BIN)/python -m pytest -q -n 2 tests/unit

# pytest on TEST_WORKERS xdist workers (tests/conftest.py: a module's tests on one, the slowest first; two of
# them mostly wait), beside the Terraform and compose checks; lines of each kept whole.
TEST_WORKERS ?= 3

test: prerequisites venv lint check-secrets ## Run the whole suite (what CI runs): pytest on 3 workers beside the Terraform and compose checks
	$(MAKE) --no-print-directory -j3 --output-sync=line test-python check-terraform check-compose

test-python: venv
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=15

lint: venv ## ruff: lint and formatting of the Python code
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check-secrets: venv ## Scan the tree for committed secrets (detect-secrets, against .secrets.baseline)
	$(BIN)/python scripts/check_secrets.py

check-terraform: ## terraform fmt, init, validate and test (offline), then checkov, on terraform/
	bash scripts/check_terraform.sh

check-compose: ## Validate docker-compose.yaml with docker-compose config (installs docker-compose if missing)
	bash scripts/check_compose.sh

# The dashboard's end-to-end browser test takes the screenshots (into docs/images/ when UPDATE_SCREENSHOT
# is set), so the page photographed is the page its checks read: a failing check fails the target.
screenshots: venv system-deps ## Regenerate docs/images/*.png: the dashboard on a local Airflow in headless Chromium (5-8 min)
	UPDATE_SCREENSHOT=1 $(BIN)/python -m pytest -q tests/e2e/dashboard/test_dashboard_browser.py

up: postgres-server venv ## Start a local Airflow (UI on :8080, else a free port) with embedded PostgreSQL and local SNS
	$(BIN)/python scripts/airflow_stack.py up

down: ## Stop what `make up` started
	$(BIN)/python scripts/airflow_stack.py down

package: venv ## Build dist/mwaa/ (dags/, plugins.zip with the wheels MWAA's image lacks, an offline requirements.txt); needs PyPI
	$(BIN)/python scripts/package_mwaa.py

deploy: package ## Upload dist/mwaa/ to the Terraform bucket and update MWAA (DRY_RUN=1 prints the commands)
	bash scripts/deploy_mwaa.sh

# BENCH_ROWS sizes the main county file (and the backfill's base); BENCH_ARGS passes any other option.
BENCH_ROWS ?= 2500000

bench: postgres-server venv ## County load benchmark with history: ours vs plain COPY, execute_values, dlt (BENCH_ROWS, BENCH_ARGS; benchmarks/README.md)
	$(BIN)/python benchmarks/bench_counties.py --rows $(BENCH_ROWS) $(BENCH_ARGS)

# One run of each case rather than three: the noise is larger, the 2 minutes hold.
bench-quick: postgres-server venv ## The same cases on 250,000 rows, one run each, into benchmarks/results/quick/ (~2 min)
	$(BIN)/python benchmarks/bench_counties.py --rows 250000 --repeat 1 --results-dir benchmarks/results/quick $(BENCH_ARGS)

clean: ## Remove .venv, .local (embedded database, Airflow home) and build outputs
	-$(BIN)/python scripts/airflow_stack.py down
	rm -rf $(VENV) .venv-checkov .venv-dlt .venv-mwaa-image .local build dist

# One command runs the app (`make run`), one command passes the tests (`make test`).
# Both install what they need: a virtualenv in .venv and Azurite in node_modules.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The suite runs on every core (pytest-xdist); PYTEST_ARGS="-n 0" runs it in one process.
PYTEST_ARGS ?= -n auto
FUNCTIONS := slash_start orchestrator_client flush_orchestrator call_cache_flush_activity \
	notify_user_activity check_access_activity publish_home_activity slack_events purge_history
comma := ,
empty :=
space := $(empty) $(empty)
APP_SOURCES := $(subst $(space),$(comma),$(addsuffix /*,shared $(FUNCTIONS)))

.DEFAULT_GOAL := help
.PHONY: help install lint format browser test run bench clean worker-venv wheels

help:
	@echo "make run     run the app locally (devhost, Azurite, Slack and cache-flush simulators)"
	@echo "make test    install everything, lint, and run the whole test suite"
	@echo "make bench   run the benchmarks (about 2 minutes): tables printed, JSON in bench/results/"
	@echo "make lint    ruff, shellcheck, bandit and mypy"
	@echo "make format  apply ruff's formatter and safe fixes"
	@echo "make clean   remove the virtualenv, node_modules and caches"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	touch $@

# Azurite runs on the Node.js named in the README; say so clearly rather than fail obscurely.
NODE_MAJOR_MIN := 20
node_modules/.installed: package.json package-lock.json
	@command -v node >/dev/null 2>&1 || { echo "Node.js $(NODE_MAJOR_MIN) or newer is needed (for Azurite): install it first" >&2; exit 1; }
	@major=$$(node -p 'process.versions.node.split(".")[0]'); \
	if [ "$$major" -lt $(NODE_MAJOR_MIN) ]; then \
		echo "Node.js $(NODE_MAJOR_MIN) or newer is needed (for Azurite); this is $$(node --version)" >&2; exit 1; \
	fi
	npm ci --no-audit --no-fund
	touch $@

install: $(VENV)/.installed node_modules/.installed

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/shellcheck scripts/*.sh
	$(BIN)/bandit -q -c pyproject.toml -r shared devhost $(FUNCTIONS)
	$(BIN)/mypy --strict shared $(FUNCTIONS)
	$(BIN)/mypy devhost bench

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The browser tests drive Debian's Chromium; install it when missing and we are allowed to.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "WARNING: could not install chromium: the browser tests will be SKIPPED"; \
	else \
		echo "WARNING: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get):"; \
		echo "WARNING: the browser tests will be SKIPPED. Install Debian's chromium to run them."; \
	fi

# Microsoft's Python worker (requirements-worker.txt) loads and runs every function in the
# tests (tests/worker); it needs Python 3.13, which gets a virtualenv of its own. The 3.13 is
# python3.13 on PATH if it runs, else the newest under pyenv's versions folder; without one
# the worker tests are skipped, with a warning here and in pytest's summary.
WORKER_VENV := .venv-worker
$(WORKER_VENV)/.installed: requirements.txt requirements-worker.txt
	@py=""; \
	for candidate in $$(command -v python3.13) \
		$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | sort -rV); do \
		if "$$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then \
			py=$$candidate; break; \
		fi; \
	done; \
	if [ -z "$$py" ]; then \
		echo "WARNING: no Python 3.13 found (python3.13 on PATH, or under pyenv's versions folder):"; \
		echo "WARNING: the worker-load tests (tests/worker) will be SKIPPED. Install Python 3.13 to run them."; \
		exit 0; \
	fi; \
	echo "Building $(WORKER_VENV) with $$py"; \
	rm -rf $(WORKER_VENV); \
	{ "$$py" -m venv $(WORKER_VENV) \
		&& $(WORKER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip \
		&& $(WORKER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
			-r requirements.txt -r requirements-worker.txt \
		&& touch $@; } || { rm -rf $(WORKER_VENV); exit 1; }

worker-venv: $(WORKER_VENV)/.installed

# The locked runtime wheels for the platform that runs the app (requirements.lock), fetched
# here so that the package-build tests (tests/deploy/test_build_package.py) run offline.
WHEELS := .cache/wheels
$(WHEELS)/.downloaded: requirements.lock $(VENV)/.installed
	rm -rf $(WHEELS)
	$(PY) -m pip download --quiet --disable-pip-version-check --require-hashes --no-deps \
		--only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.11 \
		--implementation cp --dest $(WHEELS) --requirement requirements.lock
	touch $@

wheels: $(WHEELS)/.downloaded

# Branch coverage of the whole run (devhost subprocesses included): the app's code must reach
# COVERAGE_MIN percent; devhost's figure is reported alongside.
COVERAGE_MIN := 90
test: install lint browser worker-venv wheels
	rm -f .coverage .coverage.*
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage combine -q
	@echo "Coverage of devhost (reported, not gated): $$($(BIN)/coverage report --include='devhost/*' --format=total)%"
	@echo "Coverage of the app (shared/ and the function folders; at least $(COVERAGE_MIN)%):"
	$(BIN)/coverage report --include='$(APP_SOURCES)' --fail-under=$(COVERAGE_MIN)

run: install
	$(PY) -m devhost.demo

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) $(WORKER_VENV) node_modules .pytest_cache .ruff_cache .hypothesis .devhost
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

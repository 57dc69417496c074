# CPMS — everyday commands. Only Python >= 3.11 and make are needed.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV ?= .venv
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)
BIN := $(VENV)/bin
CPMS := $(BIN)/cpms
PYTEST_ARGS ?=
# the suite runs on every core (pytest-xdist); PYTEST_WORKERS=0 runs it in one process
PYTEST_WORKERS ?= auto

# make run is a local, plain-HTTP run: debug mode, keys generated under var/.
run test: export CPMS_DEBUG ?= 1

.PHONY: help run test lint fmt bench messages openapi clean

help:
	@echo "make run    install, migrate, load demo data, serve on http://127.0.0.1:$${CPMS_PORT:-8000}"
	@echo "make test   run the whole test suite"
	@echo "make lint   ruff check, ruff format --check, migrations check"
	@echo "make fmt    format and auto-fix"
	@echo "make bench  run the benchmarks under bench/"

$(BIN)/activate:
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(CPMS) migrate --noinput
	$(CPMS) demo
	$(CPMS) serve --show-demo-logins

test: $(VENV)/.installed-dev
	$(BIN)/pytest -n $(PYTEST_WORKERS) --durations=25 $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	CPMS_DEBUG=1 $(CPMS) makemigrations --check --dry-run

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.installed-dev
	@for script in bench/*.py; do echo "== $$script"; CPMS_DEBUG=1 $(BIN)/python $$script || exit 1; done

messages: $(VENV)/.installed-dev
	cd cpms && CPMS_DEBUG=1 ../$(CPMS) makemessages --locale zh_Hans --no-obsolete --no-location
	cd cpms && CPMS_DEBUG=1 ../$(CPMS) compilemessages --locale zh_Hans

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

openapi: $(VENV)/.installed-dev
	CPMS_DEBUG=1 $(BIN)/python -c "import django, json, os; \
	os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'cpms.config.settings'); django.setup(); \
	from cpms.config.api import api; \
	open('docs/openapi.json', 'w').write(json.dumps(api.get_openapi_schema(path_prefix='/api/v1/'), \
	indent=2, ensure_ascii=False, sort_keys=True) + '\n')"

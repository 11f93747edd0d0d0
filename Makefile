# Two commands on a fresh machine: `make run` and `make test`.
# Embedded by default (SQLite file, tasks in-process); set DATABASE_URL and REDIS_URL to use
# PostgreSQL and a real Celery worker (`make worker`). The laptop targets default to DEBUG=true
# (the development SECRET_KEY is accepted only then); tests get a test-only key from pyproject.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests marked `worker` (a real Celery worker process) run when DATABASE_URL points at
# PostgreSQL and REDIS_URL is set; otherwise the run leaves them out and says so (tests/conftest.py).
PYTEST_ARGS ?=

.PHONY: run test install migrate demo worker beat lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput

demo: migrate
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py load_demo

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/celery -A coding_platform worker --loglevel=INFO --concurrency=2

beat: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/celery -A coding_platform beat --loglevel=INFO

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache

# make run: a fresh clone to a running app (web, worker, scheduler) on 127.0.0.1:8000.
# make test: ruff and pytest (SQLite unless DATABASE_URL / REDIS_URL point at servers).
# make soak: the long fault scenarios against real processes (docs/soak.md); not part of make test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format migrate bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

run: migrate
	$(BIN)/python manage.py bootstrap_demo
	$(BIN)/honcho start -f Procfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

# make bench: B0-B4 on a scratch PostgreSQL database with Redis and wrk (see docs/performance.md);
# BENCH_ARGS="--quick" for a shorter run, "--smoke" for seconds, "--only B1,B3" for some.
bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install -y wrk"; exit 2; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

soak: $(STAMP)
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) var

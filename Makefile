# Goodwill: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The suite runs on every core (pytest-xdist); PYTEST_ARGS= runs it in one process.
PYTEST_ARGS ?= -n auto

.PHONY: demo test lint format bench bench-pg bench-cases bench-cases-pg install clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Goodwill needs Python 3.11 or newer; $(PYTHON) is older."; exit 1; }
	$(PYTHON) -m venv $(VENV) || { echo "Creating the virtualenv failed: install python3-venv (apt-get install python3-venv)."; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@ $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PORT=$(PORT) $(BIN)/goodwill demo

test: $(TEST_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(TEST_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# A small run on SQLite (10k partners); `make bench-pg` runs the full size on PostgreSQL.
bench: $(TEST_STAMP)
	$(BIN)/python -m bench.partners --size 10000 --database sqlite

bench-pg: $(TEST_STAMP)
	$(BIN)/python -m bench.partners --size 1000000 --database postgres

# Case pages: 20k cases and 100k timeline entries on SQLite (on the 10k partners of
# `make bench`); `make bench-cases-pg` runs 1M cases and 10M entries on PostgreSQL.
bench-cases: $(TEST_STAMP)
	$(BIN)/python -m bench.cases --cases 20000 --entries 100000 --database sqlite

bench-cases-pg: $(TEST_STAMP)
	$(BIN)/python -m bench.cases --cases 1000000 --entries 10000000 --database postgres

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache

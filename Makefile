# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Optional local configuration: copy .env.example to .env and edit. Django reads it itself
# (aether/settings.py) and scripts/run-dev reads what it needs; variables set in the environment win.

.PHONY: run test bench lint format install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-local: requirements.txt requirements-local.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-local.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-local.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed-local
install-dev: $(VENV)/.installed-dev

## run: install, migrate and serve on http://127.0.0.1:8000 with the development OpenID provider
run: install
	scripts/run-dev

## test: install what the tests need and run the whole suite (DATABASE_URL picks the database)
test: install-dev
	scripts/ensure-chromium
	scripts/ensure-pgbouncer
	$(BIN)/python -m pytest -n 2 --dist loadgroup

## bench: every benchmark against a scratch PostgreSQL database (BENCH_DATABASE_URL), one table of figures
bench: install-dev
	$(BIN)/python bench/run.py

## lint: ruff's linter and formatter check
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache

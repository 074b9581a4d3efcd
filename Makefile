# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint typecheck pytest bench soak sim clean snapshots chromium browser

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: $(STAMP)
	$(BIN)/ticktape $(ARGS)

sim: $(STAMP)
	$(BIN)/ticktape sim $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n auto -q $(PYTEST_ARGS)

test: lint typecheck pytest

snapshots: $(STAMP)
	$(BIN)/pytest -q tests/ui --snapshot-update

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

# Debian's chromium for the `ticktape serve` browser tests (needs root, as CI has).
chromium:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

browser: $(STAMP) chromium
	$(BIN)/pytest -q tests/web/test_browser.py

soak: $(STAMP)
	$(BIN)/pytest -q -m soak

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

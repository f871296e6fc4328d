# segmint: two commands do everything on a fresh machine.
#   make demo   set up, generate the sample shop, ingest, clean, features, quality report
#   make test   set up, lint, type-check and run the quick test suite (FULL=1: every suite)
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_BIN := $(firstword $(wildcard /usr/lib/postgresql/*/bin))

.PHONY: help setup system-deps demo test lint typecheck pytest bench clean-outputs

help:
	@echo "make demo   - set up and run the demo on built-in sample data"
	@echo "make test   - set up and run lint, type checks and the quick test suite"
	@echo "make test FULL=1 - the same with the slow and Spark suites (what CI runs)"
	@echo "make bench  - run the benchmarks (writes BENCHMARKS.md)"

# The virtual environment, installed from exact pins (constraints.txt) with uv.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# System packages the tests use for real servers and browsers: PostgreSQL (SQL ingest) and
# Debian's Chromium (web app tests, driven by Playwright without downloading a browser).
APT_NEEDS := $(if $(PG_BIN),,postgresql) $(if $(wildcard /usr/bin/chromium),,chromium)
system-deps:
	@if [ -n "$(strip $(APT_NEEDS))" ] && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  echo "Installing $(strip $(APT_NEEDS)) for the tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_NEEDS) >/dev/null; \
	fi

demo: setup
	$(BIN)/segmint demo --workspace segmint-out/demo.duckdb --out segmint-out

lint: setup
	$(BIN)/ruff check segmint tests bench
	$(BIN)/ruff format --check segmint tests bench

typecheck: setup
	$(BIN)/mypy

# The quick suite by default (under about 15 minutes on 2 cores); FULL=1 adds the suites
# marked slow and the Spark suite, as CI does (.ci/run: make test FULL=1).
FULL ?=
PYTEST_SELECT := $(if $(FULL),,-m "not slow and not spark")

pytest: setup system-deps
	$(BIN)/python -m pytest $(PYTEST_SELECT)

test: lint typecheck pytest

bench: setup
	$(BIN)/python bench/run.py

clean-outputs:
	rm -rf segmint-out

# The README's two commands: `make demo` and `make test`.
# Both build a local virtual environment (.venv) from pyproject.toml first, so they work
# on a fresh machine that has only Python >= 3.11, make and the package registries.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.prodstat-installed

.PHONY: venv demo test lint typecheck docs unit bench clean browser postgres

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "prodstat needs Python >= 3.11 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[butler,test,dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

docs: $(STAMP)
	$(BIN)/sphinx-build -q -W -b html doc doc/_build/html

unit: $(STAMP)
	$(BIN)/pytest -q

# The report's browser test renders pages in headless Chromium: installed here where we may
# (root with apt-get); elsewhere that test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; } || \
	  echo "chromium is not installed and cannot be here: the report's browser test will be skipped"

# The Butler tests also run on a PostgreSQL registry: Debian's postgresql package provides the
# server binaries (/usr/lib/postgresql/*/bin); the tests start a throw-away cluster of their
# own on 127.0.0.1 (tests/support/postgres.py), so the package's own cluster is not needed.
# Installed here where we may (root with apt-get); elsewhere those tests are skipped and say why.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1; } || \
	  echo "PostgreSQL is not installed and cannot be here: the PostgreSQL-registry Butler tests will be skipped"

test: lint typecheck docs browser postgres unit

bench: $(STAMP)
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) doc/_build .pytest_cache .mypy_cache .ruff_cache

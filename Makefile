# The README's two commands: `make demo` and `make test`.
# Both build a local virtual environment (.venv) from pyproject.toml first, so they work
# on a fresh machine that has only Python >= 3.11, make and the package registries.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.prodstat-installed

.PHONY: venv demo test lint typecheck docs unit bench clean

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

test: lint typecheck docs unit

bench: $(STAMP)
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) doc/_build .pytest_cache .mypy_cache .ruff_cache

# Every target creates .venv on first use, so a fresh clone needs only `make demo` / `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck check bench run simulate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)          ## the console on the built-in simulators: no accounts needed
	$(BIN)/cronops console --demo

test: $(STAMP)          ## the whole test suite
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy bot providers

check: lint typecheck test

bench: $(STAMP)         ## benchmarks; writes benchmarks/RESULTS.md
	$(BIN)/python -m benchmarks

run: $(STAMP)
	$(BIN)/cronops run

simulate: $(STAMP)
	$(BIN)/cronops simulate --port 8900

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

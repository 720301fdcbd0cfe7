# Every target creates .venv on first use, so a fresh clone needs only `make demo` / `make test`.
# .venv gets exactly the versions in requirements/dev.txt (hash-checked), then cronops itself.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
PIP     = $(BIN)/python -m pip --quiet --disable-pip-version-check
UV     ?= $(BIN)/uv
LOCK    = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
          --custom-compile-command "make lock"

.PHONY: demo test lint typecheck check bench run simulate lock clean

$(STAMP): pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --require-hashes -r requirements/dev.txt
	$(PIP) install --no-deps --no-build-isolation -e .
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

lock: | $(STAMP)        ## re-resolve requirements/*.txt from pyproject.toml (newest allowed versions)
	$(LOCK) $(UPGRADE) pyproject.toml -o requirements/runtime.txt
	$(LOCK) $(UPGRADE) requirements/build.in -o requirements/build.txt
	$(LOCK) $(UPGRADE) pyproject.toml requirements/build.in --extra dev \
	    --constraint requirements/runtime.txt --constraint requirements/build.txt \
	    -o requirements/dev.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Two commands on a fresh machine with only python3:  make bench  |  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATASET ?= swebench-verified

.PHONY: bench test lint typecheck check clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,postgres,dask,browser]"
	touch $(STAMP)

bench: $(STAMP)  ## replay every baseline on the default dataset (5-fold CV), table + JSON + HTML report
	$(BIN)/aco datasets ensure $(DATASET)
	$(BIN)/aco bench $(DATASET) --json reports/$(DATASET).json --report reports/$(DATASET).html

test: $(STAMP)  ## the test suite (real-data tests skip with a reason when ../shared/datasets is absent)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy src/aco

check: lint typecheck test

screenshots: $(STAMP)  ## docs/img/dashboard.png and docs/img/report.png from real data (needs Debian's chromium)
	$(BIN)/python scripts/screenshots.py --out docs/img

clean:
	rm -rf $(VENV) reports .mypy_cache .ruff_cache .pytest_cache

# Two commands on a fresh machine with only python3:  make bench  |  make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATASET ?= swebench-verified

DOCS_STAMP := $(VENV)/.docs-stamp

.PHONY: bench test lint typecheck check clean docs results results-check screenshots

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

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)  ## build the MkDocs site into site/ (offline; --strict: a broken link fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

results: $(STAMP)  ## re-run every results table's command and rewrite docs/results/_generated and README blocks
	$(BIN)/python -m aco.report.results

results-check: $(STAMP)  ## CI: re-run the fast tables; fail when a committed table differs from its command
	$(BIN)/python -m aco.report.results --check --fast

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy src/aco

check: lint typecheck test

screenshots: $(STAMP)  ## docs/img/dashboard.png and docs/img/report.png from real data (needs Debian's chromium)
	$(BIN)/python scripts/screenshots.py --out docs/img

clean:
	rm -rf $(VENV) reports site .mypy_cache .ruff_cache .pytest_cache

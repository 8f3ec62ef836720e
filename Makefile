# Delta Workbook. `make report` and `make test` each bootstrap .venv on a fresh machine
# (only Python 3 and make needed), installing the pinned stack from constraints.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
JOBS   ?=
QUICK  ?=

.PHONY: report test test-fast lint bench calibration browser venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

## report: build the sample clients from data/sample/ and render every client's reports
report: $(STAMP)
	$(BIN)/workbook demo
	$(BIN)/workbook report --all $(if $(JOBS),--jobs $(JOBS),)

## test: lint and types, unit tests, notebooks under nbval, rendered reports in a headless browser
test: lint browser
	$(BIN)/workbook demo --quiet
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax notebooks

## test-fast: the inner loop: lint and types, unit tests without notebook renders or the browser
test-fast: lint
	$(BIN)/python -m pytest tests -m "not slow and not browser"

## lint: ruff (lint and format check) and mypy over the package (settings in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check workbook tests bench
	$(BIN)/ruff format --check workbook tests bench
	$(BIN)/mypy

## bench: performance figures beside their references (QUICK=1 for a short run)
bench: $(STAMP)
	$(BIN)/python bench/run.py $(if $(QUICK),--quick,)

## calibration: backtest goal chances on the sample clients' history; writes docs/calibration.md
calibration: $(STAMP)
	$(BIN)/python bench/calibration.py

## browser: headless chromium for the report tests (Debian package; needs root to install)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found and cannot install it here: browser tests will be skipped"; fi; }

clean:
	rm -rf $(VENV) reports data/clients

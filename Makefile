# `make dev` sets everything up and starts Waybill; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; assert (3, 11) <= sys.version_info[:2] < (3, 13)' 2>/dev/null && echo $$p && break; done)
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
BUILT := backend/static/build/.built

.PHONY: dev test setup build chromium lint bench fuzz

dev: setup
	$(VENV)/bin/waybill dev

test: setup chromium
	$(VENV)/bin/pytest -n 2 --dist loadfile  # two processes; a test file stays in one

setup: $(INSTALLED) $(BUILT)

$(INSTALLED): pyproject.toml sdk/python/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	$(VENV)/bin/pip install --quiet -e ./sdk/python
	touch $@

$(NODE_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(BUILT): $(NODE_INSTALLED) $(shell find frontend -type f 2>/dev/null)
	npm run build
	mkdir -p $(dir $@) && touch $@

# Browser tests drive Debian's chromium (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null || test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

lint: setup
	$(VENV)/bin/ruff check backend tests bench

bench: setup
	$(VENV)/bin/python bench/engine.py
	$(VENV)/bin/python bench/fan_out.py

# A longer schemathesis run than the test suite's (FUZZ_EXAMPLES per operation, random seed).
fuzz: setup
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_SEED=random FUZZ_WORKERS=2 $(VENV)/bin/pytest tests/system/test_fuzz.py -q

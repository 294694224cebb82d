# Exekra — the two commands: `make run` (set up and run the hub on the embedded default)
# and `make test` (set up everything the suite needs and run it).

VENV    ?= .venv
PYTHON  ?= python3
PY      := $(VENV)/bin/python
EXEKRA  := $(VENV)/bin/exekra
STAMP   := $(VENV)/.installed
TSTAMP  := $(VENV)/.installed-test
DATA    ?= $(HOME)/.exekra
HOST    ?= 127.0.0.1
PORT    ?= 5000
PYTEST_ARGS ?=
# the suite runs in parallel (fixtures use free ports, their own databases and tmux sockets);
# most tests wait on real processes, so more workers than the machine's 2 cores pay off
PYTEST_WORKERS ?= 4

.PHONY: run test venv system-deps lint format check-format typecheck bench clean help

help:
	@echo "make run    - set up .venv, initialise the hub and serve it at http://$(HOST):$(PORT)"
	@echo "make test   - set up .venv + system packages/services, lint, type-check, run all tests"
	@echo "make lint   - ruff (lint + format check) and mypy on workflows/, hub/, runner/ and console/"
	@echo "make format - ruff format + fixes"
	@echo "make bench  - run the benchmarks in bench/ (prints figures)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $(STAMP)

$(TSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP) $(TSTAMP)

venv: $(STAMP)

# Without a vendor key configured, `make run` makes a demo vendor key pair in the data folder so
# the first-run flow (issue a license -> activate -> first admin) works on this machine.
DEMO_VENDOR := $(DATA)/demo-vendor

run: $(STAMP)
	@mkdir -p $(DATA)
	@if [ -z "$$EXEKRA_LICENSE_PUBLIC_KEY" ] && [ ! -f "$(DEMO_VENDOR)/public.pem" ]; then \
	  $(EXEKRA) license keygen --out "$(DEMO_VENDOR)" >/dev/null; fi
	@export EXEKRA_LICENSE_PUBLIC_KEY="$${EXEKRA_LICENSE_PUBLIC_KEY:-$(DEMO_VENDOR)/public.pem}"; \
	  $(EXEKRA) hub init --data-dir "$(DATA)" && \
	  $(EXEKRA) hub next-steps --data-dir "$(DATA)" --host $(HOST) --port $(PORT) \
	    $$( [ -f "$(DEMO_VENDOR)/private.pem" ] && echo --demo-vendor "$(DEMO_VENDOR)" ) && \
	  exec $(EXEKRA) hub serve --data-dir "$(DATA)" --host $(HOST) --port $(PORT)

system-deps:
	@bash tests/system-deps.sh

lint: $(TSTAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(TSTAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: $(TSTAMP) system-deps lint
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --durations=20 $(PYTEST_ARGS)

bench: $(TSTAMP) system-deps
	$(PY) bench/fleet.py
	$(PY) bench/selector_capture.py
	$(PY) bench/transfer.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts

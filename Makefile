# sla-monitor: every target sets itself up; nothing needs typing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup demo test test-unit lint schemas bench clean

help:
	@echo "make demo   - set up and run the SLA monitor on the bundled example"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - replay benchmark (1M events)"

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(BIN)/sla-monitor policy check deploy/policy.example.yaml --at 2026-11-30T08:00:00+01:00
	@echo
	@echo "--- replaying examples/events.jsonl (records on stdout, rejected lines on stderr) ---"
	$(BIN)/sla-monitor replay --policy deploy/policy.example.yaml --until 2026-12-03T00:00:00+01:00 examples/events.jsonl

test: $(STAMP)
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest -m 'not integration'

lint: $(STAMP)
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/python -m monitor.schemas schemas

bench: $(STAMP)
	$(BIN)/python bench/replay_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

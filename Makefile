# sla-monitor: every target sets itself up; nothing needs typing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup tools dashboards demo demo-replay test test-unit test-integration lint schemas bench bench-history bench-processor bench-live bench-storm bench-scale bench-board bench-notify alertmanager-up alertmanager-down kafka-up kafka-down kafka-status clean

help:
	@echo "make demo        - set up, start Kafka, a worker and the simulator (and Alertmanager with the notifier); watch alerts scroll by"
	@echo "make demo-replay - set up and replay the bundled example file (no broker)"
	@echo "make test        - set up and run the whole test suite (starts and stops Kafka)"
	@echo "make test-unit   - the pure core only, in seconds"
	@echo "make kafka-up / kafka-down - the local Apache Kafka broker on 127.0.0.1:9092"
	@echo "make lint        - ruff and mypy"
	@echo "make bench       - replay benchmark (1M events)"
	@echo "make bench-history - µs/event for tickets with 10, 200, 2,000 and 20,000 events"
	@echo "make bench-processor - events/s of the worker's processor without Kafka, beside a parse+encode floor"
	@echo "make bench-live  - end-to-end benchmark on the local broker"
	@echo "make bench-storm - 10,000 tickets opened at one instant: alert lateness"
	@echo "make bench-scale - 1,000,000 open tickets: memory, /metrics, kill -9 to ready and first alert"
	@echo "make bench-board - the on-call board at 100,000 open tickets beside 200: API, updates, page load"
	@echo "make bench-notify - the notifier's start-up rebuild from the topics, beside a plain aiokafka read"
	@echo "make alertmanager-up / alertmanager-down - a local Alertmanager on 127.0.0.1:9093 (demo routes)"

setup: $(STAMP) tools

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

# System tools the tests use (Debian packages; quick when already there).
tools:
	scripts/prometheus.sh install
	scripts/deploy-tools.sh install
	scripts/browser.sh install

demo: $(STAMP)
	scripts/demo.sh

demo-replay: $(STAMP)
	$(BIN)/sla-monitor policy check deploy/policy.example.yaml --at 2026-11-30T08:00:00+01:00
	@echo
	@echo "--- replaying examples/events.jsonl (records on stdout, rejected lines on stderr) ---"
	$(BIN)/sla-monitor replay --policy deploy/policy.example.yaml --until 2026-12-03T00:00:00+01:00 examples/events.jsonl

# The broker is stopped afterwards whatever the tests say; pytest's status is kept.
test: $(STAMP) tools
	$(BIN)/ruff check monitor tests bench grafana
	$(BIN)/mypy
	scripts/kafka.sh up
	status=0; $(BIN)/pytest || status=$$?; scripts/kafka.sh down; exit $$status

test-integration: $(STAMP) tools
	scripts/kafka.sh up
	status=0; $(BIN)/pytest -m integration || status=$$?; scripts/kafka.sh down; exit $$status

test-unit: $(STAMP) tools
	$(BIN)/pytest -m 'not integration'

lint: $(STAMP)
	$(BIN)/ruff check monitor tests bench grafana
	$(BIN)/mypy

schemas: $(STAMP)
	$(BIN)/python -m monitor.cli.schemas schemas

dashboards: $(STAMP)
	$(BIN)/python grafana/build.py

bench: $(STAMP)
	$(BIN)/python bench/replay_bench.py

bench-history: $(STAMP)
	PYTHONPATH=. $(BIN)/python bench/history_bench.py

bench-processor: $(STAMP)
	PYTHONPATH=. $(BIN)/python bench/processor_bench.py

bench-live: $(STAMP)
	scripts/kafka.sh up
	$(BIN)/python bench/live_bench.py

bench-storm: $(STAMP)
	scripts/kafka.sh up
	$(BIN)/python bench/storm_bench.py

bench-scale: $(STAMP)
	scripts/kafka.sh up
	$(BIN)/python bench/scale_bench.py

bench-board: $(STAMP) tools
	scripts/kafka.sh up
	$(BIN)/python bench/board_bench.py

bench-notify: $(STAMP)
	scripts/kafka.sh up
	PYTHONPATH=. $(BIN)/python bench/notify_bench.py

alertmanager-up: tools
	scripts/alertmanager.sh up

alertmanager-down:
	scripts/alertmanager.sh down

kafka-up:
	scripts/kafka.sh up

kafka-down:
	scripts/kafka.sh down

kafka-status:
	scripts/kafka.sh status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

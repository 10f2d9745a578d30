# Drift Monitoring: `make run` starts the stack with sandbox data, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := npx --yes @bufbuild/buf@1.75.0

.DEFAULT_GOAL := help
.PHONY: help venv bench-venv tools proto proto-check lint db run up down test bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(VENV)/.stamp: requirements.txt requirements-dev.txt
	@# A half-made .venv (interrupted, or python3-venv missing) is made again rather than patched.
	$(PY) -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp  ## create .venv and install the Python packages (only when requirements change)

BENCH_VENV := .run/bench-venv
$(BENCH_VENV)/.stamp: bench/requirements.txt
	@# MLflow (the ingest peer) and matplotlib stay out of the project's own environment.
	$(BENCH_VENV)/bin/python -m pip --version >/dev/null 2>&1 || { rm -rf $(BENCH_VENV) && $(PYTHON) -m venv $(BENCH_VENV); }
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt
	touch $@

bench-venv: $(BENCH_VENV)/.stamp  ## the benchmarks' own venv: MLflow and matplotlib

proto: venv  ## regenerate the code derived from protos/: Python stubs, Go client stubs, OpenAPI
	$(PY) scripts/gen_protos.py

proto-check: venv  ## fail when generated code is stale
	$(PY) scripts/gen_protos.py --check

lint: venv  ## buf lint the protos (on a descriptor image: google/api protos come from PyPI, not the BSR)
	$(PY) scripts/gen_protos.py --descriptor-set .run/protos.binpb
	$(BUF) lint .run/protos.binpb --path drift_monitoring/v1 --config protos/buf.yaml

db: venv  ## start FerretDB on 127.0.0.1:27017 (built on first use)
	scripts/ferretdb.sh start

run: venv  ## start FerretDB + server with sandbox data in the foreground; Ctrl-C stops all
	scripts/stack.sh run

up: venv  ## the same stack in the background
	scripts/stack.sh up

down:  ## stop the background stack
	scripts/stack.sh down

tools: venv  ## build once what tests use: FerretDB, the Go protoc plugins, the Go client's modules
	@# Here rather than inside the first test that needs them, where a cold build would eat its timeout.
	@[ -n "$${MONGODB_URI:-}" ] || scripts/ferretdb.sh install
	@$(PY) scripts/gen_protos.py --install-plugins >/dev/null
	cd clients/go && go mod download && go vet ./...  # vet compiles the dependencies into the build cache

test: venv bench-venv tools  ## run every test against real FerretDB (started if nothing answers) and real servers
	@# pytest exits 5 when it collected nothing: a failure, and said so.
	$(PY) -m pytest $(PYTEST_ARGS) || { code=$$?; [ $$code -ne 5 ] || echo "make test: pytest collected no tests" >&2; exit $$code; }

bench: venv bench-venv  ## every benchmark on a private stack, side by side with MLflow: bench/results/
	$(PY) -m bench.run_all

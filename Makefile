# Drift Monitoring: `make run` starts the stack with sandbox data, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := npx --yes @bufbuild/buf@1.75.0

.DEFAULT_GOAL := help
.PHONY: help venv bench-venv drift-libs tools proto proto-check lint db run up down test bench web ts-client ts-gen browser backup restore compose-check dashboards docker-locks

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

proto: venv clients/ts/node_modules/.stamp  ## regenerate everything derived from protos/: Python, Go, OpenAPI, TypeScript (clients/ts/src/gen, which the web view imports too)
	$(PY) scripts/gen_protos.py
	cd clients/ts && npm run gen

proto-check: venv  ## fail when generated code is stale
	$(PY) scripts/gen_protos.py --check

lint: venv  ## buf lint the protos (on a descriptor image: google/api protos come from PyPI, not the BSR)
	$(PY) scripts/gen_protos.py --descriptor-set .run/protos.binpb
	$(BUF) lint .run/protos.binpb --path drift_monitoring/v1 --config protos/buf.yaml

db: venv  ## start FerretDB on 127.0.0.1:27017 (built on first use)
	scripts/ferretdb.sh start

run: venv web  ## start FerretDB + server with sandbox data in the foreground; Ctrl-C stops all
	scripts/stack.sh run

up: venv web  ## the same stack in the background
	scripts/stack.sh up

down:  ## stop the background stack
	scripts/stack.sh down

tools: venv  ## build once what tests use: FerretDB, the Go protoc plugins, the Go client's modules
	@# Here rather than inside the first test that needs them, where a cold build would eat its timeout.
	@[ -n "$${MONGODB_URI:-}" ] || scripts/ferretdb.sh install
	@$(PY) scripts/gen_protos.py --install-plugins >/dev/null
	cd clients/go && go mod download && go vet ./...  # vet compiles the dependencies into the build cache

PROMQL := deploy/promql
$(PROMQL)/node_modules/.package-lock.json: $(PROMQL)/package-lock.json
	npm ci --prefix $(PROMQL) --no-audit --no-fund --loglevel=error

test: venv bench-venv drift-libs web ts-client browser tools $(PROMQL)/node_modules/.package-lock.json  ## run every test against real FerretDB (started if nothing answers) and real servers
	@# pytest exits 5 when it collected nothing: a failure, and said so.
	$(PY) -m pytest $(PYTEST_ARGS) || { code=$$?; [ $$code -ne 5 ] || echo "make test: pytest collected no tests" >&2; exit $$code; }

bench: venv bench-venv  ## every benchmark on a private stack, side by side with MLflow: bench/results/
	$(PY) -m bench.run_all

WEB_SOURCES := $(shell find web/src clients/ts/src/gen -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

web/node_modules/.stamp: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.stamp $(WEB_SOURCES)
	cd web && npm run build

web: web/dist/index.html  ## install the page's npm packages (npm ci) and build web/dist

clients/ts/node_modules/.stamp: clients/ts/package-lock.json
	cd clients/ts && npm ci --no-audit --no-fund
	touch $@

ts-client: clients/ts/node_modules/.stamp  ## the TypeScript package's npm packages (npm ci); tests build it with tsc

ts-gen: venv clients/ts/node_modules/.stamp  ## regenerate clients/ts/src/gen (TypeScript for Node and the web view) from protos/
	cd clients/ts && npm run gen

browser:  ## Debian's Chromium for the page's end-to-end tests (installed with apt-get when missing)
	@command -v chromium >/dev/null || { \
	  [ "$$(id -u)" = 0 ] || { echo "make browser: chromium is missing; run: sudo apt-get install -y chromium" >&2; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

backup: venv  ## dump the database (MONGODB_URI, default the local one) to .run/backups, keeping 14
	$(PY) scripts/backup.py dump --dir .run/backups --keep 14

restore: venv  ## load a backup: make restore FILE=.run/backups/NAME.dmbak.gz [DROP=1] (refuses data unless DROP=1)
	@[ -n "$(FILE)" ] || { echo "usage: make restore FILE=path/to/backup.dmbak.gz [DROP=1]" >&2; exit 2; }
	$(PY) scripts/backup.py restore "$(FILE)" $(if $(DROP),--drop)

compose-check: venv  ## render every compose combination with the real docker-compose (no engine needed)
	@bin=$$($(PY) -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")'); \
	for extra in "" compose.override.yml compose.prod.yml compose.test.yml; do \
	  echo "compose.yml $$extra"; \
	  APP_DOMAIN_NAME=$${APP_DOMAIN_NAME:-drift.example.org} LETSENCRYPT_EMAIL=$${LETSENCRYPT_EMAIL:-ops@example.org} \
	  DRIFT_MONITOR_ISSUERS=$${DRIFT_MONITOR_ISSUERS:-[]} \
	  $$bin -f compose.yml $${extra:+-f $$extra} config --quiet || exit 1; \
	done

dashboards: venv  ## regenerate the Grafana dashboards in deploy/grafana/dashboards
	$(PY) deploy/grafana/dashboards.py

docker-locks: venv  ## re-pin the Python packages of the images (docker/*.lock) after a requirements change
	$(PY) docker/lock.py

drift-libs:  ## the drift libraries' own venv (.run/drift-libs-venv): the adapters' tests run Evidently, alibi-detect, NannyML, Frouros there
	scripts/drift_libs_venv.sh

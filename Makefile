# flowbus: every task is one make target. `make demo` and `make test` are the two a
# fresh machine needs; both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCAL := deploy/local
DEV_DB := .local/flowbus-demo.db

.PHONY: help install lock lint kustomize jaeger test test-fast demo bench bench-peers kafka-up kafka-down pg-up pg-down infra-up infra-down up down clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv from the hashed lock and install flowbus into it

lock: ## re-pin every dependency (hashes, no download addresses) into requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv
	@$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --no-emit-index-url \
		--python-version 3.11 --quiet -o requirements.lock
	@# The container image installs only what the services run (same pins, no dev tools).
	@$(VENV)/bin/uv pip compile pyproject.toml --generate-hashes --no-emit-index-url \
		--python-version 3.11 --quiet --constraint requirements.lock -o requirements-runtime.lock
	@! grep -nE 'https?://' requirements.lock requirements-runtime.lock || (echo "lock records an address" >&2; exit 1)

lint: install ## ruff and mypy (strict on shared/)
	@$(VENV)/bin/ruff check shared services tests
	@$(VENV)/bin/ruff format --check shared services tests
	@$(VENV)/bin/mypy

# The deploy tests render deploy/k8s with kustomize: kubectl's own, or one built from the Go
# module proxy into .local/bin when neither is installed.
KUSTOMIZE_VERSION := v5.5.0
kustomize:
	@command -v kubectl >/dev/null || command -v kustomize >/dev/null || test -x .local/bin/kustomize || \
		GOBIN=$(CURDIR)/.local/bin go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

# The end-to-end suite exports the services' traces to Jaeger v2, built once from the Go module proxy.
jaeger:
	@bash $(LOCAL)/jaeger.sh build

test: install lint kustomize jaeger ## lint, start Kafka and PostgreSQL, run the whole suite, stop them
	@bash $(LOCAL)/with-infra.sh $(PY) -m pytest

test-fast: install ## unit tests only (no Kafka, no PostgreSQL)
	@$(PY) -m pytest tests/unit

demo: install ## run a sample workflow end to end on the embedded set-up and print what happened
	@rm -f $(DEV_DB) $(DEV_DB)-wal $(DEV_DB)-shm
	@$(VENV)/bin/flowbus demo --database $(DEV_DB)

bench: install ## measure, and write the figures into README.md (flowbus's own, then against the peers)
	@bash $(LOCAL)/with-infra.sh $(PY) -m tests.bench.run --readme README.md
	@bash $(LOCAL)/with-infra.sh $(PY) -m tests.bench.peers.compare --readme README.md

# flowbus against Temporal, DBOS and Restate only (each installed by its runner under .local/peers).
bench-peers: install ## the side-by-side comparison alone, written into README.md
	@bash $(LOCAL)/with-infra.sh $(PY) -m tests.bench.peers.compare --readme README.md

kafka-up: ## start local Kafka (KRaft) on 127.0.0.1:19092
	@bash $(LOCAL)/kafka.sh up
kafka-down: ## stop local Kafka
	@bash $(LOCAL)/kafka.sh down
pg-up: ## start local PostgreSQL on 127.0.0.1:55432
	@bash $(LOCAL)/postgres.sh up
pg-down: ## stop local PostgreSQL
	@bash $(LOCAL)/postgres.sh down
infra-up: kafka-up pg-up ## start Kafka and PostgreSQL
infra-down: kafka-down pg-down ## stop Kafka and PostgreSQL

up: install infra-up ## Kafka, PostgreSQL and the four services as separate processes
	@bash $(LOCAL)/services.sh up
down: ## stop the four services, Kafka and PostgreSQL
	@bash $(LOCAL)/services.sh down
	@$(MAKE) --no-print-directory infra-down

clean: ## remove the virtualenv and local state
	@$(MAKE) --no-print-directory down || true
	@rm -rf $(VENV) .local .mypy_cache .ruff_cache .pytest_cache

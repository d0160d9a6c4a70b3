# dockpod: describe a containerized Airflow task once, run it with DockerOperator locally and
# KubernetesPodOperator in production. Every target that needs the machine set up runs `setup` first
# (idempotent, a few seconds when everything is already there).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python

REGISTRY := localhost:5000
ETL_VERSION := 1.0
ETL_IMAGE := $(REGISTRY)/dockpod/etl:$(ETL_VERSION)
ETL_CONTEXT := deploy/images/etl
BUILD_LOG := build/etl-image.log

# Lint only the folders that exist (git keeps no empty folders, and ruff fails on a missing path).
LINT_PATHS := $(wildcard src tests benches examples)

.PHONY: help setup image demo test lint bench clean dev-up dev-down prod-up prod-down stack-test

help: ## List the targets
	@echo "dockpod make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-10s %s\n", $$1, $$2 }'

setup: ## Install and start everything (apt packages, dockerd, registry, base image, .venv)
	bash scripts/setup.sh

AIRFLOW_IMAGE := $(REGISTRY)/dockpod/airflow:3.3.2

image: setup ## Build the demo ETL and the Airflow images and push them to the local registry
	@# Classic builder: there is no BuildKit/buildx on these machines (see deploy/images/etl/README.md).
	@# The build log goes to a file; on failure its tail is shown.
	@mkdir -p build; start=$$(date +%s); \
	if ! DOCKER_BUILDKIT=0 docker build --force-rm --tag $(ETL_IMAGE) \
	    --build-arg ETL_VERSION=$(ETL_VERSION) $(ETL_CONTEXT) >$(BUILD_LOG) 2>&1; then \
	  tail -n 25 $(BUILD_LOG) | sed 's/^/  | /' >&2; \
	  echo "image: docker build of $(ETL_IMAGE) failed; see $(BUILD_LOG)" >&2; exit 1; \
	fi; \
	if ! docker push $(ETL_IMAGE) >>$(BUILD_LOG) 2>&1; then \
	  tail -n 5 $(BUILD_LOG) | sed 's/^/  | /' >&2; \
	  echo "image: docker push $(ETL_IMAGE) failed; is the registry up? run make setup" >&2; exit 1; \
	fi; \
	echo "image: $(ETL_IMAGE) built and pushed ($$(docker image inspect -f '{{.Size}}' $(ETL_IMAGE) \
	  | awk '{ printf "%.0f MB", $$1 / 1e6 }'), $$(( $$(date +%s) - start ))s)" >&2
	@# The Airflow image: host-built wheelhouse (cached), classic build, skipped when its inputs are unchanged.
	AIRFLOW_IMAGE=$(AIRFLOW_IMAGE) bash scripts/build-airflow-image.sh
	@# PostgreSQL and Redis for the compose stacks, from the Debian base (cached by their inputs).
	bash scripts/stack.sh images

demo: image ## Run the portable_pipeline demo (DockerOperator, then the same tasks as pods)
	$(PY) -m dockpod.demo

test: image ## Lint, then run the test suite
	$(VENV)/bin/ruff check $(LINT_PATHS)
	@# The examples' deliberately broken files (assets/*/broken/) are linted by their own tests.
	$(VENV)/bin/dockpod lint deploy examples src --severity error --exclude '*/broken/*'
	@# pytest exits 5 when it collected no tests; until the suite exists that is not a failure.
	@echo "$(PY) -m pytest -q"; rc=0; $(PY) -m pytest -q || rc=$$?; \
	if [[ $$rc -eq 5 ]]; then echo "test: pytest collected no tests (exit 5), treated as success" >&2; rc=0; fi; \
	exit $$rc

dev-up: image ## Start the development compose stack (LocalExecutor, DAGs from examples/dags) and wait until healthy
	bash scripts/stack.sh up dev

dev-down: ## Stop the development stack and remove its containers, networks and volumes
	bash scripts/stack.sh down dev

prod-up: image ## Start the production-like compose stack (Celery, PostgreSQL, Redis, 2 workers) and wait until healthy
	bash scripts/stack.sh up prod

prod-down: ## Stop the production-like stack and remove its containers, networks and volumes
	bash scripts/stack.sh down prod

stack-test: image ## Bring both compose stacks up, run DAGs through them, kill a worker, tear down; print the figures
	@rm -f build/stack-report.txt
	$(PY) -m pytest -q tests/stack
	@cat build/stack-report.txt

lint: ## Run ruff on the Python sources
	@test -x $(VENV)/bin/ruff || { echo "lint: $(VENV)/bin/ruff is missing; run make setup first" >&2; exit 1; }
	$(VENV)/bin/ruff check $(LINT_PATHS)

bench: image ## Run the benchmarks
	$(PY) benches/run.py

clean: ## Remove .venv and build artifacts (keeps the base image cache, images and the registry)
	rm -rf $(VENV) build dist out src/*.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +

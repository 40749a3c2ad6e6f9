# The enclave's two commands: `make up` and `make test`. Everything they need
# (virtualenv, Docker engine, proxy, images) is installed on the way.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export ENCLAVE_STATE_DIR ?= $(CURDIR)/.state
export ENCLAVE_INSTANCE ?= enclave
export ENCLAVE_PUBLIC_PORT ?= 8000
# The demo's accounts log in with a password only; a real installation keeps the default (true).
export ENCLAVE_REQUIRE_SECOND_FACTOR ?= false
# The demo's state folder is a plain folder; a real installation's is on an encrypted volume (enclave volume create).
export ENCLAVE_ALLOW_UNENCRYPTED_STATE ?= true
CHP := .cache/node/node_modules/.bin/configurable-http-proxy

.PHONY: up down clean test test-unit bench install images docker venv proxy chromium java

install: venv java proxy docker images

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@$(BIN)/pip install -q --disable-pip-version-check --no-warn-conflicts -e '.[genomics]'
	@touch $@

proxy: $(CHP)
$(CHP):
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null)
	@npm install --silent --no-audit --no-fund --prefix .cache/node configurable-http-proxy@5.3.0 >/dev/null

docker:
	@bash scripts/ensure-docker.sh

images: venv docker
	@$(BIN)/enclave images build

chromium:
	@bash scripts/ensure-chromium.sh

java:
	@bash scripts/ensure-java.sh

## up: the whole enclave on embedded defaults, with a demo project and accounts
up: install
	@$(BIN)/enclave demo seed
	@$(BIN)/enclave up
	@echo
	@echo "The enclave is up. Log in at https://$$(hostname -I | awk '{print $$1}'):$(ENCLAVE_PUBLIC_PORT)/hub/login"
	@echo "(on this machine: https://127.0.0.1:$(ENCLAVE_PUBLIC_PORT)/hub/login). Stop it with 'make down'."
	@if [ -z "$${ENCLAVE_TLS_CERT:-}" ]; then \
	  echo "The certificate is self-signed, so browsers warn once: check its fingerprint with"; \
	  echo "'$(BIN)/enclave edge cert' and accept it, or set ENCLAVE_TLS_CERT and ENCLAVE_TLS_KEY to your own."; fi

## down: stop the hub, every workspace and the projects' package indexes; keep all state
down:
	@if [ -x $(BIN)/enclave ] && [ -d "$(ENCLAVE_STATE_DIR)/hub" ]; then $(BIN)/enclave down; fi
	@-for kind in workspace package-index; do \
	  docker ps -aq --filter label=enclave.instance=$(ENCLAVE_INSTANCE) --filter label=enclave.kind=$$kind \
	  | xargs -r docker rm -f >/dev/null; done

## clean: down, then remove the state, networks and firewall rules of this installation
clean: down
	@-test -x $(BIN)/enclave && $(BIN)/enclave teardown
	@rm -rf $(ENCLAVE_STATE_DIR)

## test: the full suite (unit, integration, browser) against real components
test: install chromium
	@$(BIN)/python -m pytest --cov --cov-report=term:skip-covered tests

## test-unit: every test that needs no Docker engine and no browser (tests/unit/), in a few minutes
test-unit: venv
	@$(BIN)/python -m pytest tests/unit

## bench: spawn latency and data throughput, printed and written to bench-results/
bench: install
	@$(BIN)/python -m benchmarks.run --out bench-results

# mysql-cluster: every entry point an operator or CI needs. `make up` deploys, `make test` runs every tier.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
export PATH := $(VENV)/bin:$(PATH)

.PHONY: setup lint test server-tiers test-unit test-scripts test-check images-db object-store e2e toolchain cluster-up cluster-down up down env check bench clean

## setup: Debian packages, the virtualenv and the Python packages (idempotent)
setup:
	bash tools/setup-host.sh

## lint: ruff, ruff format --check, mypy --strict, shellcheck on every script
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	shellcheck -x $$(git ls-files "*.sh")

## test-unit: the component with Pulumi mocks (seconds)
test-unit: setup
	$(PYTEST) -m unit

## images-db: the MariaDB 11.8 and MySQL 9.7 images and root filesystems (3 minutes cold, a second cached)
images-db:
	bash e2e/images/build-db.sh

## object-store: versitygw, the S3-compatible store the backup scripts are tested against (80 s cold, cached)
object-store:
	bash e2e/toolchain/versitygw.sh >/dev/null

## test-scripts: the container scripts against real servers: MariaDB 10.11 (this host), 11.8 (its image)
test-scripts: setup images-db object-store
	$(PYTEST) -m scripts

## test-check: the post-deploy check tool against real servers: MariaDB 10.11 (this host), MySQL 9.7 (its image)
test-check: setup images-db
	$(PYTEST) -m check

## toolchain: build or find the cached end-to-end toolchain (half an hour cold, seconds cached)
toolchain:
	bash e2e/toolchain/build.sh

## cluster-up / cluster-down: the local single-node Kubernetes cluster
cluster-up: toolchain
	bash e2e/cluster.sh up

cluster-down:
	bash e2e/cluster.sh down

## e2e: the end-to-end scenarios, real pulumi against the real local cluster: every scenario on each flavor of
## E2E_FLAVORS (the flavor-independent ones, marker `once`, on the first only), the smoke subset (deploy, scale
## up with a clone, the clone port, destroy) on E2E_SMOKE_FLAVORS. All flavors run at once, each in namespaces
## of its own, meeting for the node restart (e2e/run.sh); the target fails if any did.
E2E_FLAVORS ?= mariadb-10.11 mysql-9.7
E2E_SMOKE_FLAVORS ?= mariadb-11.8
e2e: setup images-db cluster-up
	bash e2e/run.sh $(PYTEST) "$(E2E_FLAVORS)" "$(E2E_SMOKE_FLAVORS)"

## test: every tier (what the README names and .ci/run calls). lint and unit first; then the script and check
## tiers (local server processes) run beside the end-to-end tier (the local cluster), which spends most of its
## time waiting on pods: two jobs, each target's output printed whole when it ends.
test: lint test-unit
	$(MAKE) --no-print-directory -j2 --output-sync=target server-tiers e2e

## server-tiers: the script tier, then the check tier (one job)
server-tiers: setup images-db object-store
	$(PYTEST) -m scripts
	$(PYTEST) -m check

## up / down: deploy and verify (to the local cluster when no kube context is configured), tear down
up: setup
	bash tools/up.sh

down: setup
	bash tools/down.sh

## env: `eval "$(make env)"` gives your shell the pulumi CLI, kubectl, KUBECONFIG, backend and passphrase that
## `make up` uses (stdout holds only export lines; nothing is printed by make itself)
env:
	@bash tools/env.sh

## check: post-deploy replication checks against the current stack
check: setup
	bash tools/check.sh --wait 300

## bench: this program beside the Kubernetes tutorial on the local cluster (takes the cluster lock itself)
bench: setup
	bash bench/bench.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# papr.memory: one entry point for the controller venv, the local stack, the demo and the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help system-packages venv lint sanity checks test test-fast test-modules test-k8s k8s-build-background fidelity stack-up stack-down stack-status host-image image ee ee-test demo demo-down

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[controller,test]'
	@touch $@

system-packages: ## install the Debian packages the stack, demo and tests need (only those missing)
	@scripts/system-packages.sh

venv: system-packages $(VENV)/.installed ## create the controller venv (Python >= 3.12) with every dependency

lint: venv ## ruff on all Python code, ansible-lint (production profile) on roles and playbooks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ansible-lint --offline -q

sanity: venv ## ansible-test sanity on the collection (a temp copy; first run installs its pinned tools)
	$(PY) scripts/ansible_sanity.py

# Each of lint and sanity keeps one core busy: one after the other they left the second core idle;
# side by side they use both. Each one's output is printed when it ends.
checks: venv ## lint and sanity at the same time, each one's output in one piece
	@echo "==> lint and ansible-test sanity, side by side (each one's output when it ends)"
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint sanity

# Two pytest-xdist workers: tests wait on subprocesses (ansible-playbook, podman, servers) much of the
# time, so two cores run two of them at once; tests/conftest.py keeps podman and Kubernetes tests on
# one worker each, and (with --no-loadscope-reorder) hands that group out first, slow tests next.
PYTEST_PARALLEL ?= -n 2 --dist loadgroup --no-loadscope-reorder

# PAPR_K8S_E2E=1: the AKS end-to-end suite runs too (in the podman tests' worker group, after them).
test: venv k8s-build-background checks ## lint and ansible-test sanity side by side, then every test (real PostgreSQL, Temporal, podman hosts, the Azure double, Kubernetes end to end)
	@scripts/reserve-test-ports.sh
	PAPR_K8S_E2E=1 $(PY) -m pytest -ra $(PYTEST_PARALLEL)

test-fast: venv ## the inner loop (< 3 min): no podman hosts, images, Kubernetes, site runs (slow) or module runs
	$(PY) -m pytest -ra $(PYTEST_PARALLEL) -m "not slow and not molecule and not image and not k8s and not playbook"

test-modules: venv ## the collection's modules (Azure double, health checks, Temporal): what test-fast leaves out of the module tiers
	$(PY) -m pytest -ra $(PYTEST_PARALLEL) -m "playbook and not slow and not molecule and not image and not k8s"

# Also part of `make test`; alone: 6-6.5 minutes on 2 idle cores (11 on busy ones) with the Kubernetes build cached,
# plus the cold Kubernetes build (5.5-15 minutes) once per machine (docs/aks.md).
test-k8s: venv ## the AKS end-to-end suite on the real single-node Kubernetes (root; docs/aks.md): site.yml -i inventories/aks, PDF, drift, releases
	PAPR_K8S_E2E=1 $(PY) -m pytest -ra -p no:xdist -x tests/k8s/test_site_aks.py

# A cold Kubernetes build (build.sh printed 480 s on a fresh machine, 2 Dec) started when the AKS
# tests first needed it held them up at the end of their worker, the suite's tail; started first, it
# runs beside lint, sanity and the podman tests, and the AKS tests wait for it on the build's lock. A cached build ends at once. It goes on
# if `make test` is interrupted; the next run finds it cached, or waits on the lock.
k8s-build-background: system-packages ## start the Kubernetes build of the AKS tests in the background (log: .state/k8s-build.log)
	@mkdir -p .state
	@scripts/k8s/build.sh >.state/k8s-build.log 2>&1 </dev/null &
	@echo "==> Kubernetes build for the AKS tests started in the background (cached: ends at once): .state/k8s-build.log"

fidelity: venv ## the Azure double vs real recorded Azure traffic (numbers per recording), then azure.azcollection (pinned, own venv) run twice against it
	$(PY) -m pytest -q -rN tests/azure_double_tests/test_fidelity.py
	$(PY) -m tests.azure_double.azcollection

stack-up: venv ## start PostgreSQL, Temporal dev server, web server and workers on 127.0.0.1
	$(PY) scripts/stack.py up

stack-down: venv ## stop exactly what stack-up started
	$(PY) scripts/stack.py down

stack-status: venv ## show what the local stack runs
	$(PY) scripts/stack.py status

host-image: ## build the systemd host image localhost/papr-host:bookworm offline (cached rootfs)
	scripts/host-image.sh

# IMAGE: the tag (default localhost/papr-memory:<version>). IMAGE_BASE: the base image (default:
# the Containerfile's public python:3.11-slim); IMAGE_BASE=local builds one offline (debootstrap).
image: venv ## build the service's container image (docs/image.md; offline: make image IMAGE_BASE=local)
	$(PY) scripts/image.py $(if $(IMAGE),--tag $(IMAGE)) $(if $(IMAGE_BASE),--base $(IMAGE_BASE))

# EE_TAG: the tag (default localhost/papr-memory-ee:<collection version>).
ee: venv ## build the AWX execution environment image offline (docs/awx.md); prints its size and build time
	$(PY) scripts/ee.py $(if $(EE_TAG),--tag $(EE_TAG))

# Not part of `make test`: the EE build alone takes 5-10 minutes from nothing (docs/awx.md).
ee-test: venv ## the AWX tier: builds the EE (or finds it unchanged), launches the job templates in it as AWX would
	PAPR_AWX_EE_JOBS=1 $(PY) -m pytest -ra tests/awx/test_ee_jobs.py

demo: venv ## the whole stack on one local podman systemd host via site.yml; prints URL, API key, curl
	scripts/demo.sh up

demo-down: ## remove the demo host, its network and its generated secrets (keeps the cached image)
	scripts/demo.sh down

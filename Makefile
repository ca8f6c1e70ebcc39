# pybpf: `make demo` and `make test` set everything up (system packages need root).
PYTHON ?= python3
VENV ?= .venv
PIP := $(VENV)/bin/python -m pip
LINT_TOOLS := ruff==0.17.6 mypy==2.4.1 prometheus_client==0.26.0 types-PyYAML==6.0.12.20261122  # the typed imports of pybpf export

.PHONY: all deps venv install lint demo test test-nokernel test-oldest-libbpf fuzz soak bench clean vm-install vm-test vm-shell program-types

all: install

deps:
	bash scripts/install-deps.sh

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

venv: $(VENV)/bin/python

# Always rebuilds: the BPF objects depend on the running kernel's BTF headers.
install: deps venv
	$(PIP) install --quiet --disable-pip-version-check ".[test]"

# The lint gate: ruff (lint and format) on the tree, mypy --strict on pybpf/.
# Needs no build: pybpf/_libbpf.pyi stands in for the compiled module.
lint: deps venv
	$(PIP) install --quiet --disable-pip-version-check $(LINT_TOOLS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict

# The XDP counter on a throwaway veth pair with mixed traffic.
demo: install
	$(VENV)/bin/pybpf xdp-count --demo

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-nokernel: install
	$(VENV)/bin/pytest -m "not kernel" $(PYTEST_ARGS)

# The fuzzing campaign: seeded mutations of the shipped and test objects, each
# in a child under a memory cgroup (tests/support/fuzz/), then the map model
# tests with ten times their examples; `make test` runs 500 cases and 2,400.
FUZZ_ARGS ?= --cases 20000 --seed 13
fuzz: install
	$(VENV)/bin/python tests/support/objects.py build/test-objects
	cd tests/support && $(abspath $(VENV))/bin/python -m fuzz --objects $(abspath build/test-objects) $(FUZZ_ARGS)
	PYBPF_MODEL_EXAMPLES=3000 $(VENV)/bin/pytest -q tests/test_map_models.py

# Leaks and soak at full counts: 2,000 load/attach/close cycles, 10,000 map
# cycles, a minute of XDP counting under veth traffic (reduced in `make test`).
soak: install
	PYBPF_SOAK=1 $(VENV)/bin/pytest -q -s tests/test_leaks.py

# The suite against the oldest libbpf apt offers (>= 1.1): both sides of the PYBPF_HAS_* gates.
test-oldest-libbpf: deps
	bash scripts/test-oldest-libbpf.sh $(PYTEST_ARGS)

# The suite inside VMs booting Debian kernels (tests/vm/): make vm-test KERNELS="6.1 7.3".
KERNELS ?= 6.1 6.12 7.3
KERNEL ?= 6.12

vm-install: venv
	bash scripts/install-deps.sh --vm
	$(PIP) install --quiet --disable-pip-version-check ".[test,vm]"

vm-test: vm-install
	$(VENV)/bin/python tests/vm/run.py --kernels "$(KERNELS)" $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

# Every program type on the host and in each VM kernel: docs/program-types.md.
program-types: vm-install
	$(VENV)/bin/python tests/vm/run.py --program-types

vm-shell: vm-install
	$(VENV)/bin/python tests/vm/run.py --shell $(KERNEL)

clean:
	rm -rf $(VENV) build *.egg-info pybpf/_libbpf.* pybpf/bpf

# Map hot paths against a C libbpf baseline, in the same run; then a pybpf export scrape.
bench: install
	$(VENV)/bin/python bench/bench.py $(BENCH_ARGS)
	$(VENV)/bin/python bench/export_scrape.py

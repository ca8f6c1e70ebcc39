# pybpf: `make demo` and `make test` set everything up (system packages need root).
PYTHON ?= python3
VENV ?= .venv
PIP := $(VENV)/bin/python -m pip
LINT_TOOLS := ruff==0.17.6 mypy==2.4.1 prometheus_client==0.26.0 types-PyYAML==6.0.12.20261122 pytest==9.2.0 numpy==2.4.6  # the typed imports of pybpf export, pybpf.testing and the arrays

.PHONY: all deps venv install lint demo test test-nokernel test-oldest-libbpf fuzz soak bench bench-profile bench-peers clean vm-install vm-objects vm-test vm-lirc-kernel vm-test-lirc vm-shell program-types

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

# The suite in VMs, through `pybpf vm` (pybpf/vm/): each Debian kernel of the
# matrix booted on this machine's userland, the test objects built once here.
# make vm-test KERNELS=6.1,7.3 PYTEST_ARGS="-k sockmap" runs a part.
MATRIX := 6.1,6.12,7.3
KERNELS ?= $(MATRIX)
KERNEL ?= 6.12
VM_OUT := build/vm
# Three guests on two cores end sooner than two and then one (one vCPU each, under emulation).
VM_JOBS ?= 3
VM_ENV = PYBPF_TEST_OBJECTS=$(CURDIR)/$(VM_OUT)/objects PYBPF_REQUIRE_KERNEL=1
# LIRC_MODE2 needs rc-core built in, which no Debian kernel has: a kernel built here
# (without the ~140 remote-control keymaps: rc-loopback uses the built-in empty one).
LIRC_OPTIONS := BPF_LIRC_MODE2,RC_CORE,RC_DEVICES,LIRC,RC_LOOPBACK,RC_MAP=n

vm-install: venv
	bash scripts/install-deps.sh --vm
	$(PIP) install --quiet --disable-pip-version-check ".[test,vm]"

# The test objects, built once here; and the suite's bytecode (pytest's rewritten
# test modules too), left by a collection here: guests cannot write their own.
vm-objects: vm-install
	rm -rf $(VM_OUT) && mkdir -p $(VM_OUT)
	$(VENV)/bin/python tests/support/objects.py $(VM_OUT)/objects 2>/dev/null
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest -q --collect-only -p no:cacheprovider tests >/dev/null

vm-test: vm-objects
	$(VM_ENV) $(VENV)/bin/pybpf vm --kernels $(KERNELS) --jobs $(VM_JOBS) --junit-dir $(VM_OUT)/junit -- $(VENV)/bin/pytest -q -rs $(PYTEST_ARGS); \
	status=$$?; \
	if [ -z "$(PYTEST_ARGS)" ] && [ "$(KERNELS)" = "$(MATRIX)" ]; then $(VENV)/bin/python tests/vm/docs.py matrix $(VM_OUT)/junit; fi; \
	exit $$status

# The kernel with LIRC_MODE2 (cached by its configuration's hash), and its tests in it.
vm-lirc-kernel: vm-install
	$(VENV)/bin/pybpf vm build-kernel --series 6.12 --bpf core --enable $(LIRC_OPTIONS) --name lirc

vm-test-lirc: vm-objects vm-lirc-kernel
	$(VM_ENV) $(VENV)/bin/pybpf vm --kernels lirc -- $(VENV)/bin/pytest -q -rs tests/test_lirc.py $(PYTEST_ARGS)

# Every program type on the host and in each VM kernel: docs/program-types.md.
program-types: vm-objects vm-lirc-kernel
	modules="$$($(VENV)/bin/python tests/support/program_types.py)"; \
	$(VM_ENV) $(VENV)/bin/pytest -q -rs -p no:cacheprovider --junitxml=$(VM_OUT)/junit/host.xml $$modules; \
	$(VM_ENV) $(VENV)/bin/pybpf vm --kernels $(MATRIX) --jobs $(VM_JOBS) --junit-dir $(VM_OUT)/junit -- $(VENV)/bin/pytest -q -rs $$modules; \
	status=$$?; \
	$(VM_ENV) $(VENV)/bin/pybpf vm --kernels lirc --junit-dir $(VM_OUT)/junit -- $(VENV)/bin/pytest -q -rs tests/test_lirc.py || status=1; \
	$(VENV)/bin/python tests/vm/docs.py program-types $(VM_OUT)/junit; exit $$status

vm-shell: vm-install
	$(VENV)/bin/pybpf vm --kernels $(KERNEL) --shell

clean:
	rm -rf $(VENV) build *.egg-info pybpf/_libbpf.* pybpf/bpf

# Hot paths against C libbpf and the bare cffi call, in the same run (docs/benchmarks.md); then a pybpf export scrape.
bench: install
	$(VENV)/bin/python bench/bench.py --markdown docs/benchmarks.md $(BENCH_ARGS)
	$(VENV)/bin/python bench/export_scrape.py

# Where the time of the rows over their targets goes: callgrind profiles (needs valgrind).
bench-profile: install
	$(VENV)/bin/python bench/profiles.py --markdown docs/profiles.md

# The same, with the Python peers that install here, each in a venv of its own (build/bench-peers/).
PEERS_DIR := build/bench-peers
bench-peers: install
	rm -rf $(PEERS_DIR) && mkdir -p $(PEERS_DIR)
	-$(PYTHON) -m venv $(PEERS_DIR)/bpfmaps && $(PEERS_DIR)/bpfmaps/bin/pip install --quiet bpfmaps==0.0.8 || rm -rf $(PEERS_DIR)/bpfmaps
	-$(PYTHON) -m venv $(PEERS_DIR)/pylibbpf && $(PEERS_DIR)/pylibbpf/bin/pip install --quiet pylibbpf==0.0.6 || rm -rf $(PEERS_DIR)/pylibbpf
	$(VENV)/bin/python bench/bench.py --peers --markdown docs/benchmarks.md $(BENCH_ARGS)

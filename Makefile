# pybpf: `make demo` and `make test` set everything up (system packages need root).
PYTHON ?= python3
VENV ?= .venv
PIP := $(VENV)/bin/python -m pip

.PHONY: all deps venv install demo test test-nokernel bench clean

all: install

deps:
	bash scripts/install-deps.sh

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

venv: $(VENV)/bin/python

# Always rebuilds: the BPF objects depend on the running kernel's BTF headers.
install: deps venv
	$(PIP) install --quiet --disable-pip-version-check ".[test]"

# The XDP counter on a throwaway veth pair with mixed traffic.
demo: install
	$(VENV)/bin/pybpf-xdp-counter --demo

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-nokernel: install
	$(VENV)/bin/pytest -m "not kernel" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info pybpf/_libbpf.* pybpf/bpf

# Map hot paths against a C libbpf baseline, in the same run.
bench: install
	$(VENV)/bin/python bench/bench.py $(BENCH_ARGS)

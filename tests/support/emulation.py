"""Whether the suite runs in a VM guest under qemu's software emulation
(``pybpf vm`` sets ``PYBPF_VM_ACCEL=tcg``), where everything is some twenty
times slower: randomized and timed tests run a smaller slice there, and the
pybpf commands come from a fork server (tool_runs.py)."""

from __future__ import annotations

import os

EMULATED = os.environ.get("PYBPF_VM_ACCEL") == "tcg"

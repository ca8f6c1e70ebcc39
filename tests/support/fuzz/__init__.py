"""Fuzzing pybpf with mutated BPF objects (issue 13): ``python -m fuzz``
with ``tests/support`` on the path; ``make fuzz`` runs the full campaign."""

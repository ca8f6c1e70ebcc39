"""Command-line tools built on pybpf's shipped programs."""

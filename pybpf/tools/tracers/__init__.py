"""The tracers of the ``pybpf`` command, one module each, every one built on
its own shipped BPF program (bpf_progs/) and on pybpf's public API only."""

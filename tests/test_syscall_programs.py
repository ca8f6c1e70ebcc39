"""SYSCALL programs (bpf_progs/syscall_prog.bpf.c): run from user space
through test_run with a BTF-typed context that comes back filled in."""

from __future__ import annotations

import pytest

import pybpf

pytestmark = pytest.mark.kernel


def test_syscall_program_reads_and_updates_a_map_through_its_context() -> None:
    with pybpf.load(pybpf.shipped("syscall_prog")) as obj:
        args = obj.btf_type("struct add_args")
        counters = obj.maps["counters"]
        counters[7] = 100
        prog = obj.programs["add_to_counter"]
        assert prog.type == pybpf.ProgType.SYSCALL
        result = prog.test_run(ctx=args(key=7, delta=5))
        assert result.retval == 0
        assert (result.ctx_out.found, result.ctx_out.before, result.ctx_out.after) == (1, 100, 105)
        assert counters[7] == 105
        missing = prog.test_run(ctx=args(key=8, delta=5))
        assert missing.retval == 0xFFFFFFFF and missing.ctx_out.found == 0  # returned -1
        raw = prog.test_run(ctx=bytes(args(key=7, delta=1)))
        assert isinstance(raw.ctx_out, bytes) and args.from_buffer_copy(raw.ctx_out).after == 106
        with pytest.raises(ValueError, match="runs once"):
            prog.test_run(ctx=args(key=7, delta=1), repeat=3)

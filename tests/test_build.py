"""Building users' own BPF C: ``pybpf.compile`` and ``pybpf build`` (run as
a user runs it), and the objects they make loaded for real."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import pybpf

pytestmark = pytest.mark.kernel

SOURCE = """\
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>  /* needs the system's multiarch headers (asm/errno.h) */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lengths SEC(".maps");

SEC("xdp")
int measure(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *total = bpf_map_lookup_elem(&lengths, &zero);

	if (total)
		__sync_fetch_and_add(total, ctx->data_end - ctx->data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.host_only("clang on the host; in guests, the execsnoop port compiles against their kernel's BTF")
def test_compile_makes_an_object_that_loads(tmp_path: Path) -> None:
    source = tmp_path / "measure.bpf.c"
    source.write_text(SOURCE)
    out = pybpf.compile(source, cache_dir=tmp_path / "cache")
    assert out == tmp_path / "measure.bpf.o"
    assert len(list((tmp_path / "cache").glob("vmlinux-*/vmlinux.h"))) == 1  # made once, cached by BTF content
    with pybpf.load(out) as obj:
        assert obj.programs["measure"].test_run(bytes(90)).retval == 2
        assert obj.maps["lengths"][0] == 90


@pytest.mark.host_only("clang and bpftool on the host")
def test_compile_against_a_given_btf_file(tmp_path: Path) -> None:
    """--btf: vmlinux.h from a BTF file (here a copy of this kernel's), cached by its content."""
    btf = tmp_path / "kernel.btf"
    shutil.copyfile("/sys/kernel/btf/vmlinux", btf)
    source = tmp_path / "measure.bpf.c"
    source.write_text(SOURCE)
    pybpf.compile(source, btf=btf, cache_dir=tmp_path / "cache")
    # The same BTF: the same cached header; and the object where it is asked for.
    out = pybpf.compile(source, tmp_path / "again" / "m.o", cache_dir=tmp_path / "cache")
    assert out == tmp_path / "again" / "m.o"
    assert len(list((tmp_path / "cache").glob("vmlinux-*/vmlinux.h"))) == 1
    for path in (tmp_path / "measure.bpf.o", out):
        with pybpf.load(path) as obj:
            assert obj.programs["measure"].test_run(bytes(70)).retval == 2


@pytest.mark.host_only("clang and bpftool on the host")
def test_compile_errors_carry_clangs_diagnostics(tmp_path: Path) -> None:
    source = tmp_path / "broken.bpf.c"
    source.write_text(SOURCE.replace("return XDP_PASS;", "return no_such_name;"))
    with pytest.raises(pybpf.CompileError, match=r"broken\.bpf\.c:\d+:\d+: error: use of undeclared identifier"):
        pybpf.compile(source)
    assert not (tmp_path / "broken.bpf.o").exists()
    with pytest.raises(pybpf.CompileError, match="no such BPF C file"):
        pybpf.compile(tmp_path / "missing.bpf.c")
    with pytest.raises(pybpf.CompileError, match="no such file; give a BTF file"):
        pybpf.compile(tmp_path / "broken.bpf.c", btf=tmp_path / "nope.btf")


def _pybpf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pybpf.tools.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.host_only("clang and bpftool on the host")
def test_pybpf_build_command(tmp_path: Path) -> None:
    source = tmp_path / "measure.bpf.c"
    source.write_text(SOURCE)
    done = _pybpf("build", str(source), "-o", str(tmp_path / "out" / "measure.bpf.o"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "out" / "measure.bpf.o")
    with pybpf.load(tmp_path / "out" / "measure.bpf.o") as obj:
        assert "measure" in obj.programs
    (tmp_path / "bad.bpf.c").write_text(SOURCE.replace("XDP_PASS;", "XDP_PASS"))
    failed = _pybpf("build", "bad.bpf.c", cwd=tmp_path)
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("pybpf build: bad.bpf.c:\n") and "error: expected ';'" in failed.stderr
    usage = _pybpf("build", "--help", cwd=tmp_path)
    assert usage.returncode == 0 and "--btf" in usage.stdout and "vmlinux.h" in usage.stdout

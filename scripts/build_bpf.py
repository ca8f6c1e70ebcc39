#!/usr/bin/env python3
"""Compile BPF C sources into CO-RE objects: clang -O2 -g -target bpf, then
``llvm-strip -g`` (DWARF goes, BTF stays, so CO-RE still relocates).

``vmlinux.h`` is generated once per output directory by bpftool from the
running kernel's BTF.  setup.py uses this for bpf_progs/, the tests for tests/bpf/.

    scripts/build_bpf.py OUT_DIR SOURCE.bpf.c [...]
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")
_ARCH = {"x86_64": "x86", "aarch64": "arm64", "ppc64le": "powerpc", "s390x": "s390", "riscv64": "riscv"}


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit(f"build_bpf: none of {', '.join(names)} found (run scripts/install-deps.sh as root)")


def vmlinux_header(out_dir: Path) -> Path:
    """Write ``out_dir/vmlinux.h`` from the kernel's BTF unless it is there."""
    header = out_dir / "vmlinux.h"
    if not header.exists():
        if not VMLINUX_BTF.exists():
            raise SystemExit(f"build_bpf: {VMLINUX_BTF} missing: the kernel was built without BTF")
        out_dir.mkdir(parents=True, exist_ok=True)
        bpftool = _tool("bpftool")
        text = subprocess.run(
            [bpftool, "btf", "dump", "file", str(VMLINUX_BTF), "format", "c"],
            check=True,
            capture_output=True,
        ).stdout
        tmp = header.with_suffix(".tmp")
        tmp.write_bytes(text)
        tmp.replace(header)
    return header


def compile_bpf(source: Path, out_dir: Path) -> Path:
    """Compile one ``*.bpf.c`` into ``out_dir/*.bpf.o`` (stripped of DWARF)."""
    header = vmlinux_header(out_dir)
    out = out_dir / (source.name[: -len(".c")] + ".o")
    arch = _ARCH.get(platform.machine(), platform.machine())
    cmd = [
        _tool("clang-19", "clang"),
        "-O2",
        "-g",
        "-target",
        "bpf",
        f"-D__TARGET_ARCH_{arch}",
        "-Wall",
        "-Werror",
        f"-I{header.parent}",
        f"-I{source.parent}",
        "-c",
        str(source),
        "-o",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    subprocess.run([_tool("llvm-strip-19", "llvm-strip"), "-g", str(out)], check=True)
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = Path(argv[0])
    for src in argv[1:]:
        print(f"build_bpf: {src} -> {compile_bpf(Path(src), out_dir)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

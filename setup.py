"""Build pybpf: the cffi module over libbpf (csrc/) and the BPF objects (bpf_progs/)."""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "scripts"))

from build_bpf import compile_bpf  # noqa: E402


class BuildPyWithBPF(build_py):
    """build_py that also compiles bpf_progs/*.bpf.c into pybpf/bpf/ of the build."""

    def run(self) -> None:
        super().run()
        out_dir = Path(self.build_lib) / "pybpf" / "bpf"
        out_dir.mkdir(parents=True, exist_ok=True)
        for source in sorted((HERE / "bpf_progs").glob("*.bpf.c")):
            compile_bpf(source, out_dir)


setup(
    cffi_modules=["csrc/build_ffi.py:ffibuilder"],
    cmdclass={"build_py": BuildPyWithBPF},
)

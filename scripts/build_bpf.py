#!/usr/bin/env python3
"""Compile BPF C sources into CO-RE objects with pybpf's own compiler
(pybpf/build/compiler.py, loaded by path: this runs before pybpf is built).
setup.py uses it for bpf_progs/, the tests for tests/bpf/; warnings are
errors here.

    scripts/build_bpf.py OUT_DIR SOURCE.bpf.c [...]
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

COMPILER = Path(__file__).resolve().parent.parent / "pybpf" / "build" / "compiler.py"


def _compiler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pybpf_build_compiler", COMPILER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compile_bpf(source: Path, out_dir: Path) -> Path:
    """Compile one ``*.bpf.c`` into ``out_dir/*.bpf.o`` (stripped of DWARF)."""
    compiler = _compiler()
    try:
        return compiler.compile(source, out_dir / (source.name[: -len(".c")] + ".o"), cflags=["-Werror"])  # type: ignore[no-any-return]
    except compiler.CompileError as exc:
        raise SystemExit(f"build_bpf: {source}:\n{exc}") from None


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

#!/usr/bin/env python3
"""Build what the tests load: tests/bpf/*.bpf.c into CO-RE objects (with the
project's build script, as the shipped programs are) and tests/helpers/*.c
into the user-space programs that uprobe tests probe.

The suite builds them in a temporary directory; the VM runner builds them
once on the host and hands the directory to every guest
(``PYBPF_TEST_OBJECTS``).

    tests/support/objects.py OUT_DIR
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent


def bpf_sources() -> list[Path]:
    """The test BPF programs."""
    return sorted((TESTS / "bpf").glob("*.bpf.c"))


def helper_sources() -> list[Path]:
    """The user-space helper programs."""
    return sorted((TESTS / "helpers").glob("*.c"))


def build(out: Path) -> None:
    """Build every test object and helper into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_bpf.py"), str(out), *map(str, bpf_sources())], check=True
    )
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang-19")
    if cc is None:
        raise SystemExit("objects: no C compiler for tests/helpers (run scripts/install-deps.sh)")
    for source in helper_sources():
        # -O1 -g: real calls to the probed functions, and symbols to find them by;
        # frame pointers: stacks the kernel can walk (profile's tests).
        flags = ["-O1", "-g", "-fno-omit-frame-pointer", "-Wall", "-Werror"]
        subprocess.run([cc, *flags, "-o", str(out / source.stem), str(source)], check=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    build(Path(sys.argv[1]))

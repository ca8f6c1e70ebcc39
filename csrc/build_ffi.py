"""cffi build script: joins the cdef headers in csrc/decl/ and compiles
``pybpf._libbpf`` (API mode) against the system libbpf and libxdp (AF_XDP
sockets) found by pkg-config.

setup.py names this file in ``cffi_modules``; run it directly to build in place.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
MIN_LIBBPF = (1, 1)


def _pkg_config(*args: str, package: str = "libbpf") -> list[str]:
    try:
        out = subprocess.run(["pkg-config", *args, package], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SystemExit(
            f"pybpf: {package} development files not found by pkg-config (run scripts/install-deps.sh as root)"
        ) from exc
    return shlex.split(out)


def _check_version() -> str:
    version = _pkg_config("--modversion")[0]
    found = tuple(int(part) for part in version.split(".")[:2])
    if found < MIN_LIBBPF:
        raise SystemExit(f"pybpf: libbpf >= {'.'.join(map(str, MIN_LIBBPF))} needed, found {version}")
    return version


def build() -> FFI:
    """Return the FFI builder for ``pybpf._libbpf``."""
    _check_version()
    ffibuilder = FFI()
    # Fixed order: types first, then one header per libbpf area.
    for header in sorted((HERE / "decl").glob("*.h")):
        ffibuilder.cdef(header.read_text(), override=False)
    # libxdp for AF_XDP sockets (its xsk API left libbpf in 1.0).
    cflags = _pkg_config("--cflags") + _pkg_config("--cflags", package="libxdp")
    libs = _pkg_config("--libs", package="libxdp") + _pkg_config("--libs")
    ffibuilder.set_source(
        "pybpf._libbpf",
        # helpers/ in name order (00-includes.c first: the libbpf headers the gates test too).
        "\n".join(path.read_text() for path in [*sorted((HERE / "helpers").glob("*.c")), HERE / "gates.c"]),
        extra_compile_args=[*cflags, "-O2"],
        libraries=[flag[2:] for flag in libs if flag.startswith("-l")],
        library_dirs=[flag[2:] for flag in libs if flag.startswith("-L")],
    )
    return ffibuilder


ffibuilder = build()

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(HERE.parent), verbose=True)

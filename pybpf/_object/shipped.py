"""The BPF objects pybpf ships (built from bpf_progs/ at package build time)."""

from __future__ import annotations

import errno
from pathlib import Path

from pybpf._core.errors import BPFFileNotFoundError

__all__ = ["shipped", "shipped_names"]

_DIR = Path(__file__).resolve().parent.parent / "bpf"


def shipped_names() -> list[str]:
    """Names of the shipped objects, e.g. ``['syscount', 'xdp_counter']``."""
    return sorted(p.name[: -len(".bpf.o")] for p in _DIR.glob("*.bpf.o"))


def shipped(name: str) -> Path:
    """The path of a shipped object, e.g. ``shipped("xdp_counter")``."""
    path = _DIR / f"{name}.bpf.o"
    if not path.is_file():
        raise BPFFileNotFoundError(
            errno.ENOENT,
            f"no shipped BPF object {name!r} (have: {', '.join(shipped_names()) or 'none: was the package built?'})",
        )
    return path

"""The BPF objects pybpf ships (built from bpf_progs/ at package build time)."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from pybpf._core.errors import BPFFileNotFoundError
from pybpf._core.public import public

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["shipped", "shipped_names"]

_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "bpf")


@public
def shipped_names() -> list[str]:
    """Names of the shipped objects, e.g. ``['syscount', 'xdp_counter']``."""
    if not os.path.isdir(_DIR):
        return []
    return sorted(name[: -len(".bpf.o")] for name in os.listdir(_DIR) if name.endswith(".bpf.o"))


@public
def shipped(name: str) -> Path:
    """The path of a shipped object, e.g. ``shipped("xdp_counter")``."""
    from pathlib import Path  # only here: pathlib costs import time

    path = Path(_DIR, f"{name}.bpf.o")
    if not path.is_file():
        raise BPFFileNotFoundError(
            errno.ENOENT,
            f"no shipped BPF object {name!r} (have: {', '.join(shipped_names()) or 'none: was the package built?'})",
        )
    return path

"""What the kernel says about an fd in ``/proc/self/fdinfo``: the one parser."""

from __future__ import annotations

import errno

from pybpf._core.errors import BPFValueError

__all__ = ["bpf_fd_kind", "fd_kind_of", "fdinfo", "require_bpf_fd_kind"]


def fdinfo(fd: int | str, *, pid: int | str = "self") -> dict[str, str]:
    """The ``key: value`` fields of ``/proc/<pid>/fdinfo/<fd>`` (OSError without procfs)."""
    with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as f:
        return {key.strip(): value.strip() for key, sep, value in (line.partition(":") for line in f) if sep}


def bpf_fd_kind(fd: int) -> str:
    """What a BPF fd holds ("link", "map" or "prog"; "object" for anything
    else), from the kernel's fdinfo; "unknown" without procfs."""
    try:
        fields = fdinfo(fd)
    except OSError:
        return "unknown"
    return fd_kind_of(fields)


def fd_kind_of(fields: dict[str, str]) -> str:
    """``bpf_fd_kind`` of fdinfo fields already read (a link's name its
    program too, so ``link_type`` decides first)."""
    return next((kind for kind in ("link", "map", "prog") if f"{kind}_type" in fields), "object")


_NAMES = {"link": "link", "map": "map", "prog": "program", "object": "BPF object"}


def require_bpf_fd_kind(fd: int, kind: str, what: str) -> None:
    """Refuse an fd (a pin, an id) that holds another kind of BPF object than
    ``kind``: its info would be misread.  Without procfs the kernel's own
    answers speak."""
    found = bpf_fd_kind(fd)
    if found not in (kind, "unknown"):
        raise BPFValueError(errno.EINVAL, f"{what} is a {_NAMES[found]}, not a {_NAMES[kind]}")

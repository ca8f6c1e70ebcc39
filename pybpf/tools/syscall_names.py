"""Syscall numbers to names for this machine's architecture, from the
kernel ABI headers installed for it (``asm/unistd*.h`` of linux-libc-dev).

Syscall numbers are the kernel's ABI, fixed per architecture, so the table
of the installed headers names every call they know on any kernel; a
number newer than the headers is shown as ``syscall_<nr>``.  The running
kernel keeps no table that user space can read: ``sys_call_table`` is a
data symbol (absent from kallsyms without CONFIG_KALLSYMS_ALL) and the
syscall tracepoints carry names without numbers.
"""

from __future__ import annotations

import functools
import glob
import platform
import re

__all__ = ["syscall_name", "syscall_names"]

_DEFINE = re.compile(r"^#define\s+(__NR(?:3264)?_\w+)\s+(\w+)", re.MULTILINE)
# Where each architecture's numbers are; multiarch paths first, then the plain one.
_HEADERS = {"x86_64": "unistd_64.h", "i686": "unistd_32.h", "i386": "unistd_32.h", "s390x": "unistd_64.h"}


def _header_paths() -> list[str]:
    name = _HEADERS.get(platform.machine(), "unistd.h")
    paths = sorted(glob.glob(f"/usr/include/{platform.machine()}-linux-*/asm/{name}"))
    paths.append(f"/usr/include/asm/{name}")
    if name == "unistd.h":  # the architectures on the generic table
        paths.append("/usr/include/asm-generic/unistd.h")
    return paths


@functools.lru_cache(maxsize=1)
def syscall_names() -> dict[int, str]:
    """{number: name} for this architecture (empty without the headers)."""
    defined: dict[str, str] = {}
    for path in _header_paths():
        try:
            with open(path, encoding="utf-8") as f:
                defined.update(_DEFINE.findall(f.read()))
        except OSError:
            continue
    out: dict[int, str] = {}
    for macro, value in defined.items():
        for _ in range(3):  # __NR_fcntl -> __NR3264_fcntl -> 25
            value = defined.get(value, value)
        if macro.startswith("__NR_") and value.isdigit() and macro != "__NR_syscalls":
            out.setdefault(int(value), macro[len("__NR_") :])
    return out


def syscall_name(nr: int) -> str:
    """The name of syscall ``nr`` (``syscall_<nr>`` if the headers do not know it)."""
    return syscall_names().get(nr, f"syscall_{nr}")

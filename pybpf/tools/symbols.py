"""Addresses to names: kernel addresses through ``/proc/kallsyms``.

Kernel addresses show only to a reader with CAP_SYSLOG where
``kptr_restrict`` allows it; otherwise kallsyms lists zeros and every
address names ``[unknown]``.
"""

from __future__ import annotations

import bisect

__all__ = ["KernelSymbols"]


class KernelSymbols:
    """The kernel's text symbols, sorted by address; ``name(addr)`` is the
    symbol an address falls in (``[unknown]`` before the first)."""

    def __init__(self, path: str = "/proc/kallsyms") -> None:
        entries: list[tuple[int, str]] = []
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and fields[1] in "tTwW":
                    address = int(fields[0], 16)
                    if address:
                        entries.append((address, fields[2] + (f" {fields[3]}" if len(fields) > 3 else "")))
        entries.sort()
        self._addresses = [a for a, _ in entries]
        self._names = [n for _, n in entries]

    def __len__(self) -> int:
        return len(self._addresses)

    def name(self, address: int) -> str:
        """The symbol ``address`` falls in."""
        i = bisect.bisect_right(self._addresses, address) - 1
        return self._names[i] if i >= 0 else "[unknown]"

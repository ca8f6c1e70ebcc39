"""Addresses to names: kernel addresses through ``/proc/kallsyms``, user
addresses through ``/proc/<pid>/maps`` and ELF symbols (pyelftools).

Kernel addresses show only to a reader with CAP_SYSLOG where
``kptr_restrict`` allows it; otherwise kallsyms lists zeros and every
address names ``[unknown]``.
"""

from __future__ import annotations

import bisect

__all__ = ["KernelSymbols", "UserSymbols"]


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


class _ElfSymbols:
    """One ELF file's function symbols (.symtab, else .dynsym) and load
    segments, read with pyelftools."""

    def __init__(self, path: str) -> None:
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection

        self.segments: list[tuple[int, int, int]] = []  # (file offset, size, virtual address)
        found: dict[int, tuple[int, str]] = {}
        try:
            with open(path, "rb") as f:
                elf = ELFFile(f)
                for segment in elf.iter_segments():
                    if segment["p_type"] == "PT_LOAD":
                        self.segments.append((segment["p_offset"], segment["p_filesz"], segment["p_vaddr"]))
                for section in elf.iter_sections():
                    if not isinstance(section, SymbolTableSection):
                        continue
                    for symbol in section.iter_symbols():
                        if symbol["st_info"]["type"] == "STT_FUNC" and symbol["st_value"] and symbol.name:
                            found.setdefault(symbol["st_value"], (symbol["st_size"], symbol.name))
        except (OSError, ELFError):
            pass  # unreadable or not ELF: its frames stay addresses
        ordered = sorted(found.items())
        self._starts = [start for start, _ in ordered]
        self._entries = [entry for _, entry in ordered]

    def name(self, file_offset: int) -> str | None:
        """The function at ``file_offset`` of the file, if a symbol covers it."""
        for offset, size, vaddr in self.segments:
            if offset <= file_offset < offset + size:
                address = file_offset - offset + vaddr
                break
        else:
            return None
        i = bisect.bisect_right(self._starts, address) - 1
        if i < 0:
            return None
        size, name = self._entries[i]
        return name if address < self._starts[i] + max(size, 1) else None


class UserSymbols:
    """Addresses of processes to ``function (file)``, through each process's
    ``/proc/<pid>/maps`` and its files' ELF symbols.  ``remember(pid)``
    keeps a process's mappings, so that its frames resolve after it exits."""

    def __init__(self) -> None:
        self._maps: dict[int, list[tuple[int, int, int, str]]] = {}
        self._files: dict[str, _ElfSymbols] = {}

    def remember(self, pid: int) -> None:
        """Read ``pid``'s executable mappings now, if not read before."""
        if pid in self._maps:
            return
        mappings = []
        try:
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
                for line in f:
                    fields = line.split(maxsplit=5)
                    if len(fields) == 6 and "x" in fields[1]:
                        start, end = (int(part, 16) for part in fields[0].split("-"))
                        mappings.append((start, end, int(fields[2], 16), fields[5].strip()))
        except OSError:
            pass  # exited: its frames stay addresses
        self._maps[pid] = mappings

    def name(self, pid: int, address: int) -> str:
        """``function`` for an address of process ``pid``, else ``[file]+0xoffset``
        or ``[unknown] 0xaddress``."""
        self.remember(pid)
        for start, end, offset, path in self._maps[pid]:
            if start <= address < end:
                if not path.startswith("/"):
                    return path or "[anon]"  # [vdso], anonymous JIT code ...
                elf = self._files.get(path)
                if elf is None:
                    elf = self._files[path] = _ElfSymbols(path)
                file_offset = address - start + offset
                return elf.name(file_offset) or f"[{path.rsplit('/', 1)[-1]}]+{file_offset:#x}"
        return f"[unknown] {address:#x}"

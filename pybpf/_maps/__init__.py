"""BPF maps: ``MapBase`` (what every map has: ``base``), the keyed ``Map``
(``map``, whole-map operations in ``bulk``), ``KeylessMap`` (``keyless``),
the kernel's info (``info``), memory-mapped arrays (``mmap``), and one module
per family with its own semantics: ``lpm``, ``mapinmap``, ``fdmaps``
(sockets, programs, fd arrays), ``redirect`` (DEVMAP, CPUMAP), ``storage``,
``stacks``, ``structops``.

Importing any of them imports them all, so the registry that gives each map
type its class is complete whichever module is imported first.
"""

from pybpf._maps import (  # noqa: F401 - each family registers its map types
    base,
    fdmaps,
    keyless,
    lpm,
    map,
    mapinmap,
    redirect,
    stacks,
    storage,
    structops,
)

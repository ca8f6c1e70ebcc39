"""BPF maps: ``MapBase`` (what every map has: ``base``), the keyed ``Map``
(``map``, whole-map operations in ``bulk``), ``KeylessMap`` (``keyless``),
the kernel's info (``info``), memory-mapped arrays (``mmap``), and one module
per family with its own semantics: ``lpm``, ``mapinmap``, ``fdmaps``
(sockets, programs, fd arrays), ``redirect`` (DEVMAP, CPUMAP), ``storage``,
``stacks``, ``structops``.

A family's module is imported when a map of its types first appears
(``MapBase.class_for``), so a program pays only for the families it uses.
"""

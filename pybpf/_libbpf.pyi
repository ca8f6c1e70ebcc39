"""The compiled cffi module over libbpf (csrc/build_ffi.py): its functions
and constants are those of the cdef headers in csrc/decl/.  Only
pybpf._core.ffi imports it."""

from typing import Any

ffi: Any
lib: Any

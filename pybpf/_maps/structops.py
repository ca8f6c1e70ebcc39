"""``StructOpsMap``: a ``STRUCT_OPS`` map, whose programs implement a kernel
interface (a TCP congestion control, ...): its struct before load, and its
registration with the kernel after."""

from __future__ import annotations

import ctypes
import errno
from typing import Any

from pybpf._attach.link import Link
from pybpf._core.enums import MapType
from pybpf._core.errors import BPFValueError, NotSupportedError, call_ptr
from pybpf._core.ffi import ffi, lib
from pybpf._maps.map import Map

__all__ = ["StructOpsMap"]


class StructOpsMap(Map, map_types=(MapType.STRUCT_OPS,)):
    """A ``STRUCT_OPS`` map of a ``BPFObject``: its key is 0 and its value the
    struct the kernel calls through.  Set its plain fields before load
    (:attr:`struct_ops`), then :meth:`attach_struct_ops` registers it."""

    @property
    def struct_ops(self) -> Any:
        """A copy of the struct this STRUCT_OPS map registers, as the object
        declares it (a BTF-typed record), read before ``load()``.  Assign a
        changed copy back to set its plain fields, e.g. a congestion
        control's ``name``, so that several loaded copies do not collide in
        the kernel; leave the function pointer fields alone (libbpf fills
        them).  Needs libbpf >= 1.4."""
        image = self._struct_ops_image()
        ctype = self._btf.ctype(self._btf_ids[1]) if self._btf is not None else None
        if ctype is None or ctypes.sizeof(ctype) != len(image):
            return bytes(image)
        return ctype.from_buffer_copy(image)

    @struct_ops.setter
    def struct_ops(self, value: Any) -> None:
        image = self._struct_ops_image()
        data = bytes(value)
        if len(data) != len(image):
            raise BPFValueError(errno.EINVAL, f"map '{self._name}': the struct is {len(image)} bytes, not {len(data)}")
        image[:] = data

    def _struct_ops_image(self) -> Any:
        """libbpf's copy of the struct, which load() turns into the kernel's."""
        if self._type != MapType.STRUCT_OPS:
            raise BPFValueError(errno.EINVAL, f"map '{self._name}' is {self._type.name}, not STRUCT_OPS")
        self._require_open()
        if self._spec is None:
            raise BPFValueError(errno.EINVAL, f"map '{self._name}': its struct can only be read and set before load()")
        size = ffi.new("size_t *")
        ptr = lib.bpf_map__initial_value(self._spec, size)
        if ptr == ffi.NULL:
            major, minor = lib.libbpf_major_version(), lib.libbpf_minor_version()
            raise NotSupportedError(
                errno.EOPNOTSUPP, f"map '{self._name}': struct_ops data needs libbpf >= 1.4 (this is {major}.{minor})"
            )
        return ffi.buffer(ptr, size[0])

    def attach_struct_ops(self) -> Link:
        """Register this STRUCT_OPS map of a loaded object with the kernel (a
        TCP congestion control, ...): its programs then serve the kernel's
        callbacks.  Closing the link unregisters it (or, for a map declared
        in ``.struct_ops.link``, detaches the link)."""
        if self._type != MapType.STRUCT_OPS:
            raise BPFValueError(errno.EINVAL, f"map '{self._name}' is {self._type.name}, not STRUCT_OPS")
        self._require_live()
        if self._ptr is None or self._owner is None or not self._owner.loaded:
            raise BPFValueError(errno.EINVAL, f"map '{self._name}': only a map of a loaded BPFObject can be registered")
        ptr = self._ptr
        with self._owner._use():
            link_ptr = call_ptr(lambda: lib.bpf_map__attach_struct_ops(ptr), f"register struct_ops map '{self._name}'")
        link = Link(ptr=link_ptr, what=f"struct_ops '{self._name}'", obj=self._owner)
        self._owner._track(link)
        return link

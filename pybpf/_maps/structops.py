"""``StructOpsMap``: a ``STRUCT_OPS`` map, whose programs implement a kernel
interface (a TCP congestion control, ...): its struct before load, and its
registration with the kernel after."""

from __future__ import annotations

import ctypes
import errno
from typing import Any

from pybpf import features
from pybpf._attach.link import Link
from pybpf._attach.marks import forget_struct_ops, record_struct_ops, stale_struct_ops
from pybpf._core.enums import MapFlags, MapType
from pybpf._core.errors import BPFFileExistsError, BPFValueError, NotSupportedError, call_ptr, check
from pybpf._core.ffi import ffi, lib
from pybpf._core.public import public
from pybpf._maps.map import Map

__all__ = ["StructOpsMap"]


@public
class StructOpsMap(Map, map_types=(MapType.STRUCT_OPS,)):
    """A ``STRUCT_OPS`` map of a ``BPFObject``: its key is 0 and its value the
    struct the kernel calls through.  Set its plain fields before load
    (:attr:`struct_ops`), then :meth:`attach_struct_ops` registers it."""

    _use_link: bool | None = None  # None: as declared, upgraded to a link where the kernel has them

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

    @property
    def use_link(self) -> bool:
        """Whether :meth:`attach_struct_ops` registers through a BPF link,
        which ends with the process.  By default True where the kernel has
        struct_ops links (6.4+, libbpf 1.2+), whether the object declares the
        map in ``.struct_ops`` or ``.struct_ops.link``.  Set it to False
        before ``load()`` for a registration that stays after the process
        exits (as ``bpftool struct_ops register`` makes)."""
        if self._use_link is not None:
            return self._use_link
        return bool(self._flags & MapFlags.LINK) or (self._spec is not None and bool(features.struct_ops_links()))

    @use_link.setter
    def use_link(self, value: bool) -> None:
        self._unloaded_spec("use_link")
        if value:
            support = features.struct_ops_links()
            if not support:
                raise NotSupportedError(errno.EOPNOTSUPP, f"map '{self._name}': {support.reason}")
        self._use_link = bool(value)

    def _before_load(self) -> None:
        """Set or clear BPF_F_LINK as ``use_link`` says: by default, nothing
        stays registered after a kill."""
        if not self.autocreate:
            return
        spec = self._unloaded_spec("use_link")
        flags = self._flags | MapFlags.LINK if self.use_link else self._flags & ~MapFlags.LINK
        if flags != self._flags:
            check(lib.bpf_map__set_map_flags(spec, flags), f"set flags of map '{self._name}'")
            self._flags = lib.bpf_map__map_flags(spec)

    def attach_struct_ops(self) -> Link:
        """Register this STRUCT_OPS map of a loaded object with the kernel (a
        TCP congestion control, ...): its programs then serve the kernel's
        callbacks.  Closing the link unregisters it.

        With :attr:`use_link` (the default on 6.4+) the registration also
        ends when the process dies, even by SIGKILL; pin the link to keep it.
        Without, the registration outlives the process; pybpf records its owner in
        ``/run/pybpf/struct_ops/``, so that registering the same map again
        takes over a registration whose owner exited (instead of failing
        with ``FileExistsError``), and ``pybpf cleanup`` removes it."""
        if self._type != MapType.STRUCT_OPS:
            raise BPFValueError(errno.EINVAL, f"map '{self._name}' is {self._type.name}, not STRUCT_OPS")
        self._require_live()
        if self._ptr is None or self._owner is None or not self._owner.loaded:
            raise BPFValueError(errno.EINVAL, f"map '{self._name}': only a map of a loaded BPFObject can be registered")
        ptr = self._ptr
        what = f"register struct_ops map '{self._name}'"
        with self._owner._use():
            try:
                link_ptr = call_ptr(lambda: lib.bpf_map__attach_struct_ops(ptr), what)
            except BPFFileExistsError:
                # The name is taken: by what an exited pybpf process left? Then take it over.
                stale = [s for s in stale_struct_ops() if s.mark.program == self._name]
                if not stale:
                    raise
                for registration in stale:
                    registration.remove()
                link_ptr = call_ptr(lambda: lib.bpf_map__attach_struct_ops(ptr), what)
        if self._flags & MapFlags.LINK:
            link = Link(ptr=link_ptr, what=f"struct_ops '{self._name}'", obj=self._owner)
        else:
            # No BPF link (libbpf's stands in with the map's own fd): the
            # kernel keeps the registration after this process, so leave a record.
            map_id = self.id
            record_struct_ops(map_id, self._name)

            def unregister() -> None:
                lib.bpf_link__destroy(link_ptr)
                forget_struct_ops(map_id)

            link = Link(what=f"struct_ops '{self._name}' (no link)", obj=self._owner, detach=unregister)
        self._owner._track(link)
        return link

"""``MapOfMaps``: ARRAY_OF_MAPS and HASH_OF_MAPS, whose values are other maps."""

from __future__ import annotations

import errno
from typing import Any

from pybpf._codecs.codec import Codec, FdCodec
from pybpf._core.enums import MapType
from pybpf._core.errors import BPFValueError, check
from pybpf._core.ffi import ffi, lib
from pybpf._core.public import public
from pybpf._maps.map import Map

__all__ = ["MapOfMaps"]


@public
class MapOfMaps(Map, map_types=(MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS)):
    """A map whose values are maps (``ARRAY_OF_MAPS``, ``HASH_OF_MAPS``).

    ``outer[k] = inner`` stores a map (a ``Map`` or an fd); every inner map
    must match the outer map's template (type, key and value size, and for
    most types ``max_entries``), else the kernel says EINVAL.  ``outer[k]``
    opens the stored map by its id and returns a new ``Map`` the caller owns
    (close it, or use ``with``); :meth:`inner_id` gives just the id.  An
    ARRAY_OF_MAPS takes only ``flags=ANY`` and its empty slots read as
    missing keys (``KeyError``); ``del`` empties a slot.  A BPF program looks
    the outer map up, then the inner map, with ``bpf_map_lookup_elem``.

    Before load, :attr:`inner_map` describes the template libbpf will create
    from the object's ``__array(values, ...)``, and :meth:`set_inner_map`
    replaces it with a live map (for instance one with more entries).
    """

    _inner_view: Map | None = None  # the template view handed out before load
    _keys_need_lookup = True  # an array's empty slots are not keys

    def _default_codec(self, what: str, size: int) -> Codec | None:
        # A Map (or fd) in; out, the stored map opened by id: the caller owns it.
        return FdCodec(4, "map", Map.from_id) if what == "value" and size == 4 else None

    def inner_id(self, key: Any) -> int:
        """The id of the map stored at ``key`` (``KeyError`` if none), opening nothing."""
        self._require_live()
        raw = self._kcodec.encode(key)
        out = ffi.new("__u32 *")
        ret = lib.pybpf_map_lookup(self._guard, raw, out)
        if ret:
            self._fail(ret, "look up", key)
        return int(out[0])

    @property
    def inner_map(self) -> Map:
        """The inner-map template of an opened object's map, before load.

        A read-only view (type, sizes, ``max_entries``), closed by ``load()``
        and by :meth:`set_inner_map` (libbpf frees the template then).
        """
        spec = self._require_spec("inner_map")
        if self._inner_view is not None:
            return self._inner_view
        ptr = lib.bpf_map__inner_map(spec)
        if ptr == ffi.NULL:
            raise BPFValueError(
                errno.ENOENT, f"map '{self._name}' has no inner-map template (declare __array(values, ...))"
            )
        self._inner_view = _InnerTemplate(
            name=f"{self._name}.inner",
            **self.declared(ptr),
            owner=self._owner,
        )
        return self._inner_view

    def set_inner_map(self, template: Map) -> None:
        """Use ``template`` (a live map) as the inner-map template, before load."""
        spec = self._require_spec("set_inner_map")
        self._drop_inner_view()  # libbpf frees the declared template
        check(lib.bpf_map__set_inner_map_fd(spec, template.fd), f"set the inner map of '{self._name}'")

    def _require_spec(self, what: str) -> Any:
        if self._spec is None:
            raise BPFValueError(errno.EINVAL, f"map '{self._name}': {what} is only for an opened object before load()")
        return self._spec

    def _drop_inner_view(self) -> None:
        if self._inner_view is not None:
            self._inner_view.close()  # it names libbpf memory that is about to go
            self._inner_view = None

    def _bind(self, fd: int) -> None:
        self._drop_inner_view()
        super()._bind(fd)

    def close(self) -> None:
        """Release the fd (see ``Map.close``); also closes the template view."""
        self._drop_inner_view()
        super().close()


class _InnerTemplate(Map):
    """The declared inner-map template: read-only, because libbpf's template has
    no owning object and ``bpf_map__set_max_entries`` would dereference NULL."""

    @Map.max_entries.setter  # type: ignore[attr-defined, untyped-decorator]
    def max_entries(self, value: int) -> None:
        raise BPFValueError(
            errno.EINVAL,
            f"map '{self._name}': libbpf cannot resize an inner-map template; create a map of the size you "
            "need (Map.create) and pass it to set_inner_map()",
        )

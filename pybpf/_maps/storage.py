"""Local storages (TASK/SK/INODE/CGRP_STORAGE): a value per kernel object,
keyed from user space by an fd that names the object."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any, ClassVar, NoReturn

from pybpf._codecs.codec import Codec, FdCodec
from pybpf._core.enums import MapType
from pybpf._core.errors import NotSupportedError
from pybpf._core.public import public
from pybpf._maps.map import Map

__all__ = ["LocalStorage"]


@public
class LocalStorage(
    Map, map_types=(MapType.TASK_STORAGE, MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.CGRP_STORAGE)
):
    """``TASK_STORAGE``, ``SK_STORAGE``, ``INODE_STORAGE`` and ``CGRP_STORAGE``:
    one value per task, socket, inode or cgroup, which BPF programs reach with
    ``bpf_*_storage_get`` and user space with an fd as the key.

    The key is an fd, or an object with ``fileno()``: a pidfd
    (``os.pidfd_open(pid)``) for a task, a socket, an open file for its
    inode, an open cgroup directory (``os.open(path, os.O_RDONLY)``) for a
    cgroup.  ``m[key] = value`` creates or replaces the object's value (flags
    as for any map), ``m[key]`` reads it (``KeyError`` if it has none), ``del``
    removes it; the value goes away with the object too.  The kernel has no
    way to list a storage from user space: ``len()`` and iteration raise
    ``NotSupportedError``.  Values are typed from BTF (the kernel requires
    it: declare these maps in a BPF object).
    """

    _KINDS: ClassVar[dict[MapType, str]] = {
        MapType.TASK_STORAGE: "pidfd",
        MapType.SK_STORAGE: "socket",
        MapType.INODE_STORAGE: "open file",
        MapType.CGRP_STORAGE: "cgroup directory fd",
    }

    def _default_codec(self, what: str, size: int) -> Codec | None:
        return FdCodec(4, self._KINDS[self._type], what="key") if what == "key" and size == 4 else None

    def _unlisted(self) -> NoReturn:
        self._require_live()
        raise NotSupportedError(
            errno.EOPNOTSUPP,
            f"map '{self._name}' is a {self._type.name}: the kernel cannot list its entries; "
            f"look values up by {self._KINDS[self._type]}",
        )

    def __len__(self) -> int:
        self._unlisted()

    def __iter__(self) -> Iterator[Any]:
        self._unlisted()

    def _iter_items(self) -> Iterator[tuple[Any, Any]]:
        self._unlisted()

    def pop_all(self) -> dict[Any, Any]:
        """Not for local storages (see the class)."""
        self._unlisted()

    def clear(self) -> None:
        """Not for local storages (see the class)."""
        self._unlisted()

"""``Map``: a BPF map as a Python ``MutableMapping``, with the kernel's semantics.

Per map type (the kernel's rules, not dict's, where they differ):

* HASH, LRU_HASH: a missing key raises ``KeyError``; ``len()`` counts entries;
  LRU maps evict the least recently used entry when full instead of failing.
* ARRAY: every index ``0..max_entries-1`` always exists, ``len()`` is
  ``max_entries``; ``del`` raises ``BPFValueError`` (the kernel's EINVAL) and
  ``clear()`` zeroes every element instead.
* PERCPU_*: a value is a list with one item per *possible* CPU; writing takes
  such a list or one value that is written to every CPU.

Single lookups and updates are one ``bpf()`` syscall; maps whose key and value
are plain integers take a fast path that builds no buffers in Python.
``items()``, ``values()``, iteration and ``clear()`` use batch syscalls where the
kernel has them for the map type, and fall back to one key at a time.
"""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import re
import threading
import warnings
import weakref
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, MutableMapping, ValuesView
from dataclasses import dataclass
from typing import Any, ClassVar

from pybpf._btf import BTF
from pybpf._codecs import BytesCodec, Codec, IntCodec, PerCPUCodec, codec_for_ctype
from pybpf._errors import (
    ENOTSUPP,
    BPFFileNotFoundError,
    BPFKeyError,
    BPFValueError,
    NotSupportedError,
    check,
    closed_error,
    error_for,
    raise_errno,
    with_details,
)
from pybpf._ffi import ffi, lib, log_capture
from pybpf._link import Link
from pybpf._mmap import MappedArray
from pybpf._mounts import require_bpffs
from pybpf._types import MapFlags, MapType, UpdateFlags

__all__ = ["Map", "MapInfo", "maps", "possible_cpus"]

_NAME_RE = re.compile(r"^[A-Za-z0-9_.]{0,15}$")
# Entries per batch syscall: big chunks make dumps cheaper per entry (measured:
# 8192 -> 262144 entries saves ~10% of dict(m.items())), capped in bytes.
_BATCH_CHUNK = 1 << 18
_BATCH_BYTES = 8 << 20
# Created only with BPF_F_NO_PREALLOC: the kernel refuses them without it.
_NO_PREALLOC_ONLY = frozenset(
    int(t)
    for t in (MapType.LPM_TRIE, MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE)
)
_tls = threading.local()
_ncpus: int | None = None


def possible_cpus() -> int:
    """The number of possible CPUs: the number of slots of a per-CPU value."""
    global _ncpus
    if _ncpus is None:
        _ncpus = check(lib.libbpf_num_possible_cpus(), "count possible CPUs")
    return _ncpus


def _scratch(size: int) -> Any:
    """A per-thread buffer of at least ``size`` bytes for one syscall's output.

    Per thread because cffi releases the GIL during the syscall.
    """
    buf = getattr(_tls, "buf", None)
    if buf is None or len(buf) < size:
        buf = _tls.buf = ffi.new("char[]", max(size, 256))
    return buf


def _close_leaked(fd: int, name: str) -> None:
    os.close(fd)  # first: the warning may be turned into an exception
    warnings.warn(f"pybpf: map '{name}' (fd {fd}) was not closed", ResourceWarning, stacklevel=2)


class _Items(ItemsView):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self._mapping._iter_items()  # type: ignore[attr-defined, no-any-return]


class _Values(ValuesView):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[Any]:
        return (v for _, v in self._mapping._iter_items())  # type: ignore[attr-defined]


class Map(MutableMapping[Any, Any]):
    """A BPF map.

    Maps of a ``BPFObject`` are views owned by the object (closing the object
    closes them).  ``Map.create``, ``Map.from_pinned`` and ``Map.from_id``
    return maps that own their file descriptor: close them, or use ``with``.

    Constructing a ``Map`` gives the subclass registered for the map type
    (``LPMTrie``, ``MapOfMaps``, ...) where one exists.
    """

    _by_type: ClassVar[dict[int, type[Map]]] = {}
    # A key exists only where a lookup succeeds (fd arrays: empty slots are
    # still walked by GET_NEXT_KEY), so counting and iterating read values too.
    _keys_need_lookup: bool = False

    def __init_subclass__(cls, map_types: tuple[MapType, ...] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for map_type in map_types:
            Map._by_type[int(map_type)] = cls

    def __new__(cls, *args: Any, **kwargs: Any) -> Map:
        if cls is Map:
            cls = Map._by_type.get(int(kwargs.get("map_type", 0)), Map)
        return super().__new__(cls)

    def __init__(
        self,
        *,
        name: str,
        map_type: int,
        key_size: int,
        value_size: int,
        max_entries: int,
        flags: int = 0,
        fd: int = -1,
        owned: bool = False,
        owner: Any = None,
        spec: Any = None,
        btf: BTF | None = None,
        btf_key_type_id: int = 0,
        btf_value_type_id: int = 0,
        key_type: Any = None,
        value_type: Any = None,
    ) -> None:
        self._name = name
        self._type = _map_type(map_type)
        self._key_size = key_size
        self._value_size = value_size
        self._max_entries = max_entries
        self._flags = flags
        self._fd = -1
        self._closed = False
        self._owner = owner  # keeps the owning object (and its fds) alive
        self._spec = spec  # struct bpf_map * while the object is not loaded
        self._ptr = spec  # the object's struct bpf_map *, for as long as the object is open
        self._pinned_at: str | None = None  # where pin() put a map of our own
        self._btf = btf
        self._btf_ids = (btf_key_type_id, btf_value_type_id)
        self._user_types = (key_type, value_type)
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._batch = True
        self._fast = self._fast_update = False  # until _bind() sees the codecs
        if fd >= 0:
            self._bind(fd)
            if owned:
                self._finalizer = weakref.finalize(self, _close_leaked, fd, name)

    # -- construction -------------------------------------------------------

    @classmethod
    def create(
        cls,
        map_type: MapType | int,
        *,
        key_size: int,
        value_size: int,
        max_entries: int,
        name: str = "",
        flags: MapFlags | int = 0,
        key_type: Any = None,
        value_type: Any = None,
        inner_map: Map | None = None,
        map_extra: int = 0,
    ) -> Map:
        """Create a new map in the kernel (``BPF_MAP_CREATE``); the caller owns it.

        ``key_type``/``value_type`` (ctypes types or a one-integer struct format
        such as ``"I"``) say how to read keys and values; without them they are
        ``bytes``.  ``name`` is at most 15 characters of ``[A-Za-z0-9_.]``.
        Types the kernel only creates unpreallocated (LPM_TRIE, the local
        storages) get ``MapFlags.NO_PREALLOC`` added.  ``inner_map`` is the
        template of an ARRAY_OF_MAPS/HASH_OF_MAPS: every map stored in it must
        match its type, key and value sizes.  ``map_extra`` is the type's
        extra parameter (BLOOM_FILTER: the number of hash functions, 1-15; 0
        lets the kernel choose 5).
        """
        if not _NAME_RE.match(name):
            raise BPFValueError(errno.EINVAL, f"map name {name!r}: at most 15 characters of [A-Za-z0-9_.]")
        opts = ffi.new("struct bpf_map_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_map_create_opts")
        if int(map_type) in _NO_PREALLOC_ONLY:
            flags = int(flags) | MapFlags.NO_PREALLOC
        opts.map_flags = int(flags)
        if inner_map is not None:
            opts.inner_map_fd = inner_map.fd
        opts.map_extra = map_extra
        fd = check(
            lib.bpf_map_create(int(map_type), name.encode(), key_size, value_size, max_entries, opts),
            f"create map '{name}' ({_map_type(map_type).name}, key {key_size} B, value {value_size} B, "
            f"{max_entries} entries)",
        )
        return cls._from_owned_fd(fd, what=f"map '{name}'", key_type=key_type, value_type=value_type)

    @classmethod
    def from_pinned(cls, path: str | os.PathLike[str], *, key_type: Any = None, value_type: Any = None) -> Map:
        """Open the map pinned at ``path`` (a bpffs file); the caller owns the new fd."""
        path = os.fspath(path)
        fd = check(lib.bpf_obj_get(path.encode()), f"open pinned map {path}")
        return cls._from_owned_fd(fd, what=path, key_type=key_type, value_type=value_type)

    @classmethod
    def from_id(cls, map_id: int, *, key_type: Any = None, value_type: Any = None) -> Map:
        """Open the live map with kernel id ``map_id``; the caller owns the new fd."""
        fd = check(lib.bpf_map_get_fd_by_id(map_id), f"open map id {map_id}")
        return cls._from_owned_fd(fd, what=f"map id {map_id}", key_type=key_type, value_type=value_type)

    @classmethod
    def _from_owned_fd(cls, fd: int, *, what: str, key_type: Any, value_type: Any) -> Map:
        try:
            _require_map_fd(fd, what)
            info = _map_info(fd, what)
            btf = BTF.from_kernel(info.btf_id) if info.btf_id and (key_type is None or value_type is None) else None
            return cls(
                name=ffi.string(info.name).decode(),
                map_type=info.type,
                key_size=info.key_size,
                value_size=info.value_size,
                max_entries=info.max_entries,
                flags=info.map_flags,
                fd=fd,
                owned=True,
                btf=btf,
                btf_key_type_id=info.btf_key_type_id,
                btf_value_type_id=info.btf_value_type_id,
                key_type=key_type,
                value_type=value_type,
            )
        except BaseException:
            os.close(fd)
            raise

    def _bind(self, fd: int) -> None:
        """Take the live fd and build the codecs and fast-path settings."""
        self._kcodec = self._codec(self._user_types[0], self._btf_ids[0], self._key_size, "key")
        value = self._codec(self._user_types[1], self._btf_ids[1], self._value_size, "value")
        self._vcodec: Codec = PerCPUCodec(value, possible_cpus()) if self._type.is_percpu else value
        self._vtotal = self._vcodec.size
        fast = isinstance(self._kcodec, IntCodec) and not self._kcodec.signed and isinstance(self._vcodec, IntCodec)
        self._fast = fast
        if fast:
            signed = self._vcodec.signed  # type: ignore[attr-defined]
            self._lookup_int = lib.pybpf_lookup_sint if signed else lib.pybpf_lookup_uint
            self._sentinel = -(1 << 63) if signed else (1 << 64) - 1
            self._fast_update = not signed
            self._update_int = lib.pybpf_update_int
            self._handle = lib.pybpf_handle(fd, self._key_size, self._value_size)
        else:
            self._fast_update = False
        self._fd = fd
        self._spec = None

    def _default_codec(self, what: str, size: int) -> Codec | None:
        """A codec the map type imposes over BTF (LPM keys, map references); None: BTF decides."""
        return None

    def _codec(self, user: Any, type_id: int, size: int, what: str) -> Codec:
        if user is not None:
            codec = codec_for_ctype(user, what)
            if codec.size != size:
                raise BPFValueError(
                    errno.EINVAL,
                    f"map '{self._name}': {what} type {user!r} is {codec.size} bytes, the map's {what}s are {size}",
                )
            return codec
        imposed = self._default_codec(what, size)
        if imposed is not None:
            return imposed
        if self._btf is not None and type_id:
            ints = self._btf.int_info(type_id)
            if ints is not None and ints[0] == size:
                return IntCodec(ints[0], ints[1], what)
            try:
                codec = codec_for_ctype(self._btf.ctype(type_id), what)
            except BPFValueError:  # e.g. a data section: read it through obj.rodata & co
                return BytesCodec(size, what)
            if codec.size == size:
                return codec
        return BytesCodec(size, what)

    def set_types(self, *, key_type: Any = None, value_type: Any = None) -> None:
        """Read and write keys/values as these types instead of what BTF says.

        Each is a ctypes type or a one-integer struct format (``"I"``, ``"q"``);
        ``None`` keeps the current choice.  The size must match the map's.
        """
        self._user_types = (
            key_type if key_type is not None else self._user_types[0],
            value_type if value_type is not None else self._user_types[1],
        )
        if self._fd >= 0:
            self._bind(self._fd)
        else:  # check the sizes now rather than at load
            self._codec(self._user_types[0], 0, self._key_size, "key")
            self._codec(self._user_types[1], 0, self._value_size, "value")

    # -- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Release this map's fd (the kernel frees the map when nothing else holds it).

        Idempotent.  A map of a ``BPFObject`` is closed with its object.
        """
        if self._closed:
            return
        self._closed = True
        # The fast paths' handle names the fd number, which the OS will reuse.
        self._fast = self._fast_update = False
        fd, self._fd = self._fd, -1
        if self._finalizer is not None:
            self._finalizer.detach()
            os.close(fd)
        if self._btf is not None and self._owner is None:
            self._btf.close()
        self._owner = None
        self._spec = self._ptr = None

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called (or the owning object was closed)."""
        return self._closed

    def __enter__(self) -> Map:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"fd={self._fd}"
        return (
            f"<pybpf.{type(self).__name__} '{self._name}' {self._type.name} key={self._key_size}B "
            f"value={self._value_size}B max_entries={self._max_entries} {state}>"
        )

    # -- attributes -----------------------------------------------------------

    @property
    def fd(self) -> int:
        """The map's file descriptor (borrowed: do not close it)."""
        self._require_live()
        return self._fd

    @property
    def id(self) -> int:
        """The kernel's id of the map (for ``Map.from_id`` and bpftool)."""
        return int(_map_info(self.fd, f"map '{self._name}'").id)

    @property
    def name(self) -> str:
        """The map's name (the kernel keeps 15 characters)."""
        return self._name

    @property
    def type(self) -> MapType:
        """The map type."""
        return self._type

    @property
    def key_size(self) -> int:
        """Size of a key in bytes."""
        return self._key_size

    @property
    def value_size(self) -> int:
        """Size of one value in bytes (of one CPU's slot for per-CPU maps)."""
        return self._value_size

    @property
    def flags(self) -> int:
        """The map's creation flags (``BPF_F_*``)."""
        return self._flags

    @property
    def max_entries(self) -> int:
        """The map's capacity; settable on an opened object's map before load."""
        return self._max_entries

    @max_entries.setter
    def max_entries(self, value: int) -> None:
        if self._spec is None:
            raise BPFValueError(
                errno.EINVAL, f"map '{self._name}': max_entries can only be set on an opened object before load()"
            )
        check(lib.bpf_map__set_max_entries(self._spec, value), f"set max_entries of map '{self._name}'")
        self._max_entries = lib.bpf_map__max_entries(self._spec)

    @property
    def autocreate(self) -> bool:
        """Whether ``load()`` creates this map of an opened object (default True).

        Set it to False before load for a map the running kernel cannot create
        (see :mod:`pybpf.features`) and that no loaded program uses; after
        load the object has no such map.
        """
        if self._spec is None:
            return True
        return bool(lib.bpf_map__autocreate(self._spec))

    @autocreate.setter
    def autocreate(self, value: bool) -> None:
        if self._spec is None:
            raise BPFValueError(
                errno.EINVAL, f"map '{self._name}': autocreate can only be set on an opened object before load()"
            )
        check(lib.bpf_map__set_autocreate(self._spec, bool(value)), f"set autocreate of map '{self._name}'")

    @property
    def key_type(self) -> Any:
        """The ctypes type keys decode through (from BTF, the caller, or the map type)."""
        return self.key_codec.ctype

    @property
    def value_type(self) -> Any:
        """The ctypes type of one value (one CPU's slot for per-CPU maps)."""
        codec = self.value_codec
        return codec.inner.ctype if isinstance(codec, PerCPUCodec) else codec.ctype

    @property
    def key_codec(self) -> Codec:
        """How keys are encoded and decoded."""
        self._require_live()
        return self._kcodec

    @property
    def value_codec(self) -> Codec:
        """How values are encoded and decoded (a ``PerCPUCodec`` for per-CPU maps)."""
        self._require_live()
        return self._vcodec

    # -- errors ---------------------------------------------------------------

    def _require_live(self) -> None:
        if self._closed:
            raise closed_error("map", self._name)
        if self._fd < 0:
            raise BPFValueError(errno.EBADF, f"map '{self._name}' is not loaded yet: call load() on its object first")

    def _fail(self, ret: int, action: str, key: Any = None, flags: int = 0) -> None:
        """Raise the error for a failed map syscall (slow path only)."""
        self._require_live()
        err = -ret
        if err == errno.ENOENT and action == "look up":
            raise BPFKeyError(err, f"map '{self._name}' has no key {key!r}")
        what = f"{action} key {key!r} in map '{self._name}'" if key is not None else f"{action} map '{self._name}'"
        if err == errno.EINVAL and action == "delete" and self._type.is_array:
            what += f" ({self._type.name} elements always exist and cannot be deleted; write a zero value instead)"
        elif err == errno.ENOENT and flags & UpdateFlags.EXIST:
            raise BPFKeyError(err, f"{what}: no such key and flags=EXIST")
        elif err == errno.EEXIST and flags & UpdateFlags.NOEXIST:
            what += " with flags=NOEXIST"
        elif err == errno.E2BIG and self._type.is_array:
            what += f" (index out of range: max_entries is {self._max_entries})"
        raise_errno(err, what, BPFKeyError if err == errno.ENOENT and action == "delete" else None)

    # -- single elements ------------------------------------------------------

    def __getitem__(self, key: Any) -> Any:
        if self._fast and type(key) is int:
            try:
                value = self._lookup_int(self._handle, key)
            except OverflowError:
                return self._lookup(key)
            if value == self._sentinel:
                ret = lib.pybpf_last_error()
                if ret:
                    if ret == -errno.ERANGE:
                        return self._lookup(key)  # out of the key's range: let the codec say so
                    self._fail(ret, "look up", key)
            return value
        return self._lookup(key)

    def _lookup(self, key: Any) -> Any:
        if self._fd < 0:
            self._require_live()
        raw = self._kcodec.encode(key)
        buf = _scratch(self._vtotal)
        ret = lib.bpf_map_lookup_elem(self._fd, raw, buf)
        if ret:
            self._fail(ret, "look up", key)
        return self._vcodec.decode(ffi.buffer(buf, self._vtotal))

    def set(self, key: Any, value: Any, *, flags: UpdateFlags | int = UpdateFlags.ANY) -> None:
        """Write ``key`` -> ``value`` with the kernel's update flags.

        ``NOEXIST`` on an existing key raises ``FileExistsError``; ``EXIST`` on a
        missing key raises ``KeyError``; ``F_LOCK`` needs a ``bpf_spin_lock`` in
        the value (else ``ValueError``).  A full hash map raises E2BIG.
        """
        if self._fast_update and type(key) is int and type(value) is int:
            try:
                ret = self._update_int(self._handle, key, value, int(flags))
            except OverflowError:
                ret = -errno.ERANGE
            if ret == 0:
                return
            if ret != -errno.ERANGE:
                self._fail(ret, "update", key, flags)
        self._update(key, value, int(flags))

    def _update(self, key: Any, value: Any, flags: int) -> None:
        """The generic update: encode through the codecs, then one syscall."""
        if self._fd < 0:
            self._require_live()
        ret = lib.bpf_map_update_elem(self._fd, self._kcodec.encode(key), self._vcodec.encode(value), flags)
        if ret:
            self._fail(ret, "update", key, flags)

    def __setitem__(self, key: Any, value: Any) -> None:
        # set()'s integer fast path inlined (one Python call less): the hot write.
        if self._fast_update and type(key) is int and type(value) is int:
            try:
                ret = self._update_int(self._handle, key, value, 0)
            except OverflowError:
                ret = -errno.ERANGE
            if ret == 0:
                return
            if ret != -errno.ERANGE:
                self._fail(ret, "update", key)
        self._update(key, value, 0)  # not plain ints, or out of range: the codecs decide

    def __delitem__(self, key: Any) -> None:
        if self._fast and type(key) is int:
            try:
                ret = lib.pybpf_delete_int(self._handle, key)
            except OverflowError:
                ret = -errno.ERANGE
            if ret == 0:
                return
            if ret != -errno.ERANGE:
                self._fail(ret, "delete", key)
        if self._fd < 0:
            self._require_live()
        ret = lib.bpf_map_delete_elem(self._fd, self._kcodec.encode(key))
        if ret:
            self._fail(ret, "delete", key)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]
        except BPFKeyError:
            return False
        return True

    # -- whole map ------------------------------------------------------------

    def __len__(self) -> int:
        """``max_entries`` for arrays; otherwise the entries present now (one dump)."""
        if self._type.is_array:
            self._require_live()
            return self._max_entries
        return sum(n for _, _, n in self._iter_raw(values=self._keys_need_lookup))

    def __iter__(self) -> Iterator[Any]:
        """Keys, at most ``max_entries`` of them, even while others delete."""
        if self._type.is_array:
            self._require_live()
            if isinstance(self._kcodec, IntCodec):
                return iter(range(self._max_entries))
        decode, size = self._kcodec.decode_many, self._key_size
        chunks = self._iter_raw(values=self._keys_need_lookup)
        return (k for keys, _, n in chunks for k in decode(ffi.buffer(keys, n * size), n, size))

    def keys(self) -> KeysView[Any]:
        """A view of the keys (see ``__iter__``)."""
        return KeysView(self)

    def items(self) -> ItemsView[Any, Any]:
        """A view of (key, value) pairs read with batch syscalls where possible."""
        return _Items(self)

    def values(self) -> ValuesView[Any]:
        """A view of the values read with batch syscalls where possible."""
        return _Values(self)

    def _iter_items(self) -> Iterator[tuple[Any, Any]]:
        return self._pairs(self._iter_raw(values=True))

    def _pairs(self, chunks: Iterator[tuple[Any, Any, int]]) -> Iterator[tuple[Any, Any]]:
        """Decoded (key, value) pairs of raw (keys, values, count) chunks."""
        kdec, vdec = self._kcodec.decode_many, self._vcodec.decode_many
        ksize, vsize = self._key_size, self._vtotal
        # Chained in C per chunk: no Python frame per item on the dump path.
        return itertools.chain.from_iterable(
            zip(kdec(ffi.buffer(keys, n * ksize), n, ksize), vdec(ffi.buffer(values, n * vsize), n, vsize))
            for keys, values, n in chunks
        )

    def pop_all(self) -> dict[Any, Any]:
        """Read and delete every entry in one pass; returns them as a dict.

        Where the kernel has lookup-and-delete for the type (the hash types,
        batched), counters read this way lose no increment: each entry is gone
        the moment it is read.  Elsewhere (LPM_TRIE, ...) each key is looked
        up, then deleted, and an update between the two is lost.  Arrays cannot delete:
        ``NotSupportedError`` (read ``items()`` and write zeros instead, which
        loses what programs add in between).
        """
        self._require_live()
        if self._type.is_array:
            raise NotSupportedError(
                errno.EOPNOTSUPP,
                f"map '{self._name}' is a {self._type.name}: its elements cannot be deleted, so pop_all() cannot "
                "read-and-clear it; use a hash map, or items() then writes of zero",
            )
        out: dict[Any, Any] = {}
        ksize, vsize = self._key_size, self._vtotal
        if self._batch:
            try:
                out.update(self._pairs(self._iter_batch(lib.bpf_map_lookup_and_delete_batch)))
                return out
            except _NoBatch:
                pass  # raised before the first chunk: nothing was deleted yet
        val = ffi.new("char[]", vsize)
        atomic = True
        for key, _, _ in self._iter_next_key(values=False):
            ret = lib.bpf_map_lookup_and_delete_elem(self._fd, key, val) if atomic else 0
            if -ret in (ENOTSUPP, errno.EOPNOTSUPP, errno.EINVAL):
                atomic = False  # no lookup-and-delete for this type: look up, then delete
            if not atomic:
                ret = lib.bpf_map_lookup_elem(self._fd, key, val) or lib.bpf_map_delete_elem(self._fd, key)
            if ret == -errno.ENOENT:
                continue  # deleted by someone else meanwhile
            if ret:
                self._fail(ret, "pop from")
            out[self._kcodec.decode(ffi.buffer(key, ksize))] = self._vcodec.decode(ffi.buffer(val, vsize))
        return out

    def update_from(
        self, entries: Mapping[Any, Any] | Iterable[tuple[Any, Any]], *, flags: UpdateFlags | int = UpdateFlags.ANY
    ) -> int:
        """Write many entries with batch syscalls (one at a time where the kernel
        has no batch update for the type); returns how many were written.

        ``flags`` apply to every entry; with ``NOEXIST``/``EXIST`` the writes go
        one at a time (the kernel's batch update takes only ``F_LOCK``).  On an
        error, the entries before the failing one are written and the
        exception says which key failed.
        """
        self._require_live()
        pairs = list(entries.items() if isinstance(entries, Mapping) else entries)
        if not pairs:
            return 0
        kenc, venc = self._kcodec.encode, self._vcodec.encode
        keys = b"".join(kenc(k) for k, _ in pairs)
        vals = b"".join(venc(v) for _, v in pairs)
        flags = int(flags)
        done = 0
        # The kernel's batch update takes no flag but F_LOCK (EINVAL otherwise).
        if self._batch and not flags & ~UpdateFlags.F_LOCK:
            opts = ffi.new("struct bpf_map_batch_opts *")
            opts.sz = ffi.sizeof("struct bpf_map_batch_opts")
            opts.elem_flags = flags
            count = ffi.new("__u32 *")
            kbuf, vbuf = ffi.from_buffer(keys), ffi.from_buffer(vals)
            while done < len(pairs):
                count[0] = len(pairs) - done
                ret = lib.bpf_map_update_batch(
                    self._fd, kbuf + done * self._key_size, vbuf + done * self._vtotal, count, opts
                )
                done += count[0]
                if ret == 0:
                    continue
                if done == 0 and -ret in (ENOTSUPP, errno.EOPNOTSUPP):
                    break  # no batch update for this type: one at a time below
                self._fail(ret, "batch update", pairs[min(done, len(pairs) - 1)][0], flags)
            else:
                return done
        for i in range(done, len(pairs)):
            ret = lib.bpf_map_update_elem(
                self._fd,
                keys[i * self._key_size : (i + 1) * self._key_size],
                vals[i * self._vtotal : (i + 1) * self._vtotal],
                flags,
            )
            if ret:
                self._fail(ret, "update", pairs[i][0], flags)
        return len(pairs)

    def clear(self) -> None:
        """Delete every entry; on arrays (which cannot delete), zero every element."""
        self._require_live()
        if self._type.is_array:
            self._zero_array()
            return
        for keys, _, n in self._iter_raw(values=False):
            self._delete_many(keys, n)

    def _zero_array(self) -> None:
        n = self._max_entries
        keys = ffi.new("__u32[]", list(range(n)))
        vals = ffi.new("char[]", n * self._vtotal)
        if self._batch:
            count = ffi.new("__u32 *", n)
            ret = lib.bpf_map_update_batch(self._fd, keys, vals, count, ffi.NULL)
            if ret == 0:
                return
            if -ret not in (ENOTSUPP, errno.EOPNOTSUPP):
                self._fail(ret, "batch update in")
        for i in range(n):
            ret = lib.bpf_map_update_elem(self._fd, keys + i, vals, 0)
            if ret:
                self._fail(ret, "update", i)

    def _delete_many(self, keys: Any, n: int) -> None:
        if self._batch:
            count = ffi.new("__u32 *", n)
            ret = lib.bpf_map_delete_batch(self._fd, keys, count, ffi.NULL)
            if ret == 0:
                return
            if -ret not in (errno.ENOENT, ENOTSUPP, errno.EOPNOTSUPP, errno.EINVAL):
                self._fail(ret, "batch delete in")
        # One by one; a key another user deleted meanwhile is not an error.
        for i in range(n):
            ret = lib.bpf_map_delete_elem(self._fd, keys + i * self._key_size)
            if ret and ret != -errno.ENOENT:
                self._fail(ret, "delete")

    def _iter_raw(self, *, values: bool) -> Iterator[tuple[Any, Any, int]]:
        """Yield (keys buffer, values buffer, count) chunks of the whole map.

        Batch lookup where the kernel has it for this map type; else
        GET_NEXT_KEY (+ lookup), bounded by ``max_entries`` steps because a key
        deleted under us makes the kernel restart from the first key.
        """
        self._require_live()
        if self._batch:
            try:
                yield from self._iter_batch()
                return
            except _NoBatch:
                self._batch = False
        yield from self._iter_next_key(values)

    def _iter_batch(self, call: Any = None) -> Iterator[tuple[Any, Any, int]]:
        """Batch lookup (or ``call``: lookup-and-delete) chunk by chunk; _NoBatch if unsupported."""
        call = call or lib.bpf_map_lookup_batch
        per_entry = self._key_size + self._vtotal
        chunk = max(1, min(self._max_entries, _BATCH_CHUNK, _BATCH_BYTES // per_entry))
        token_size = max(self._key_size, 8)
        tokens = [ffi.new("char[]", token_size), ffi.new("char[]", token_size)]
        count = ffi.new("__u32 *")
        in_batch = ffi.NULL
        seen = 0
        first = True
        # Reused per chunk: every consumer decodes a chunk before asking for the next.
        keys = ffi.new("char[]", chunk * self._key_size)
        vals = ffi.new("char[]", chunk * self._vtotal)
        while seen < self._max_entries:
            count[0] = chunk
            ret = call(self._fd, in_batch, tokens[1], keys, vals, count, ffi.NULL)
            if ret == -errno.ENOSPC and count[0] == 0 and chunk < 2 * self._max_entries:
                # A hash bucket holds more entries than the buffers: grow them.
                chunk *= 2
                keys = ffi.new("char[]", chunk * self._key_size)
                vals = ffi.new("char[]", chunk * self._vtotal)
                continue
            if ret and first and -ret in (ENOTSUPP, errno.EOPNOTSUPP, errno.EINVAL):
                raise _NoBatch
            if ret and ret != -errno.ENOENT:
                self._fail(ret, "batch lookup in")
            first = False
            n = min(count[0], self._max_entries - seen)
            if n:
                seen += n
                yield keys, vals, n
            if ret == -errno.ENOENT:
                return
            tokens.reverse()
            in_batch = tokens[0]

    def _iter_next_key(self, values: bool) -> Iterator[tuple[Any, Any, int]]:
        size = self._key_size
        cur, nxt = ffi.new("char[]", size), ffi.new("char[]", size)
        val = ffi.new("char[]", self._vtotal) if values else ffi.NULL
        prev = ffi.NULL
        seen: set[bytes] = set()
        for _ in range(self._max_entries):
            ret = lib.bpf_map_get_next_key(self._fd, prev, nxt)
            if ret == -errno.ENOENT:
                return
            if ret:
                self._fail(ret, "iterate")
            cur, nxt = nxt, cur
            prev = cur
            raw = ffi.buffer(cur, size)[:]
            if raw in seen:  # a restart after a concurrent delete repeats keys
                continue
            seen.add(raw)
            if values:
                ret = lib.bpf_map_lookup_elem(self._fd, cur, val)
                if ret == -errno.ENOENT:
                    continue  # deleted between the two syscalls
                if ret:
                    self._fail(ret, "look up", raw)
            yield cur, val, 1

    # -- memory mapping -------------------------------------------------------

    def mmap(self) -> MappedArray:
        """Map the elements of a ``BPF_F_MMAPABLE`` ARRAY into this process.

        Reads and writes through the returned :class:`MappedArray` are memory
        accesses that BPF programs see at once (no syscall).  Create such a
        map with ``flags=MapFlags.MMAPABLE`` (or ``BPF_F_MMAPABLE`` in C);
        the object's ``.bss``/``.data``/``.rodata`` are mapped this way after
        load.  The caller closes the view.
        """
        self._require_live()
        if self._type != MapType.ARRAY or not self._flags & MapFlags.MMAPABLE:
            raise NotSupportedError(
                errno.EOPNOTSUPP,
                f"map '{self._name}' ({self._type.name}, flags {self._flags:#x}) cannot be memory-mapped: "
                "only ARRAY maps created with MapFlags.MMAPABLE can",
            )
        return MappedArray(
            self._fd, count=self._max_entries, value_size=self._value_size, codec=self._vcodec, name=self._name
        )

    # -- struct_ops -----------------------------------------------------------

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
        if self._closed:
            raise closed_error("map", self._name)
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
        with log_capture() as cap:
            link_ptr = lib.bpf_map__attach_struct_ops(ptr)
        what = f"register struct_ops map '{self._name}'"
        if link_ptr == ffi.NULL:
            raise with_details(error_for(ffi.errno or errno.EINVAL, what), cap.messages, program_lines=True)
        link = Link(ptr=link_ptr, what=f"struct_ops '{self._name}'", obj=self._owner)
        return self._owner._track(link)  # type: ignore[no-any-return]

    # -- pinning --------------------------------------------------------------

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the map at ``path`` on a bpffs, so it outlives this process.

        The pin holds the map until :meth:`unpin` (or the file is removed).
        """
        path = os.fspath(path)
        self._require_live()
        require_bpffs(path, f"pin map '{self._name}'")
        what = f"pin map '{self._name}' at {path}"
        if self._ptr is not None:  # libbpf remembers it (pin_path, unpin)
            check(lib.bpf_map__pin(self._ptr, path.encode()), what)
        else:
            check(lib.bpf_obj_pin(self._fd, path.encode()), what)
            self._pinned_at = path

    def unpin(self, path: str | os.PathLike[str] | None = None) -> None:
        """Remove the pin at ``path`` (default: where this map was pinned).

        The map itself lives on while anything else holds it.
        """
        self._require_live()
        target = os.fspath(path) if path is not None else self.pin_path
        if target is None:
            raise BPFValueError(errno.EINVAL, f"map '{self._name}' is not pinned: give the path to unpin")
        what = f"unpin map '{self._name}' from {target}"
        if self._ptr is not None:
            check(lib.bpf_map__unpin(self._ptr, os.fsencode(target)), what, enoent=BPFFileNotFoundError)
            return
        require_bpffs(target, what)
        try:
            os.unlink(target)
        except FileNotFoundError:
            raise BPFFileNotFoundError(errno.ENOENT, f"{what}: nothing is pinned there") from None
        if target == self._pinned_at:
            self._pinned_at = None

    @property
    def pin_path(self) -> str | None:
        """Where the map is (or, before load, will be) pinned; None if nowhere."""
        if self._ptr is None:
            return self._pinned_at
        raw = lib.bpf_map__pin_path(self._ptr)
        return None if raw == ffi.NULL else ffi.string(raw).decode()

    def set_pin_path(self, path: str | os.PathLike[str] | None) -> None:
        """Before load: pin the map at ``path`` when the object loads, or, if a
        compatible map is pinned there already, use that one instead (how
        programs share a map).  An incompatible pinned map fails the load.
        None cancels."""
        if self._spec is None:
            raise BPFValueError(
                errno.EINVAL, f"map '{self._name}': set_pin_path() is for an opened object's map before load()"
            )
        raw = ffi.NULL if path is None else os.fsencode(os.fspath(path))
        check(lib.bpf_map__set_pin_path(self._spec, raw), f"set the pin path of map '{self._name}'")

    # -- inspection -----------------------------------------------------------

    def info(self) -> MapInfo:
        """What the kernel says about the map now (``BPF_OBJ_GET_INFO_BY_FD``)."""
        return _info_of(_map_info(self.fd, f"map '{self._name}'"))


@dataclass(frozen=True)
class MapInfo:
    """The kernel's description of a live map (``struct bpf_map_info``)."""

    id: int
    name: str
    type: MapType
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int
    """The id of the map's BTF object (0: none); ``btf_key_type_id`` and
    ``btf_value_type_id`` are type ids in it."""
    btf_key_type_id: int
    btf_value_type_id: int


def _info_of(info: Any) -> MapInfo:
    return MapInfo(
        id=info.id,
        name=ffi.string(info.name).decode(errors="replace"),
        type=_map_type(info.type),
        key_size=info.key_size,
        value_size=info.value_size,
        max_entries=info.max_entries,
        flags=info.map_flags,
        btf_id=info.btf_id,
        btf_key_type_id=info.btf_key_type_id,
        btf_value_type_id=info.btf_value_type_id,
    )


def maps() -> list[MapInfo]:
    """Every map in the kernel (all processes), by id: what ``bpftool map list`` shows.

    Maps that go away while this runs are skipped.
    """
    out: list[MapInfo] = []
    next_id = ffi.new("__u32 *")
    current = 0
    while True:
        ret = lib.bpf_map_get_next_id(current, next_id)
        if ret == -errno.ENOENT:
            return out
        check(ret, f"list maps after id {current}")
        current = int(next_id[0])
        fd = lib.bpf_map_get_fd_by_id(current)
        if fd == -errno.ENOENT:
            continue  # freed meanwhile
        check(fd, f"open map id {current}")
        try:
            out.append(_info_of(_map_info(fd, f"map id {current}")))
        finally:
            os.close(fd)


class _NoBatch(Exception):
    """The kernel has no batch operations for this map type."""


def _require_map_fd(fd: int, what: str) -> None:
    """Refuse a pinned program or link: its info would not be a map's."""
    try:
        with open(f"/proc/self/fdinfo/{fd}", encoding="ascii", errors="replace") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return  # no procfs: let the kernel's answers speak
    if "map_type" not in fields:
        kind = "program" if "prog_type" in fields else "link" if "link_type" in fields else "BPF object"
        raise BPFValueError(errno.EINVAL, f"{what} is a {kind}, not a map")


def _map_info(fd: int, what: str) -> Any:
    """The kernel's ``struct bpf_map_info`` of a map fd."""
    info = ffi.new("struct bpf_map_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_map_info"))
    check(lib.bpf_obj_get_info_by_fd(fd, info, size), f"read info of {what}")
    return info


def _map_type(value: int) -> MapType:
    try:
        return MapType(value)
    except ValueError:
        return MapType.UNSPEC

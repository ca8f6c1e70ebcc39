"""``MapBase``: what every BPF map has, keyed or not: its fd (an owned handle
or a view of its object's), name, type and sizes, the codecs of its keys and
values, pinning, the kernel's info, and the registry that gives each map
type its class.

``Map`` (keyed maps, a ``MutableMapping``) and ``KeylessMap`` (queues, stacks,
bloom filters, fd arrays, ring buffers) derive from it.
"""

from __future__ import annotations

import _thread
import errno
import os
import warnings
from functools import partial

from pybpf._codecs.btf import BTF
from pybpf._codecs.btf_build import TypeWriter, untyped_ctype
from pybpf._codecs.codec import BytesCodec, Codec, IntCodec, PerCPUCodec, codec_for_ctype
from pybpf._core.enums import MapFlags, MapType, UpdateFlags
from pybpf._core.errors import (
    BPFError,
    BPFKeyError,
    BPFValueError,
    NotSupportedError,
    c_string,
    check,
    raise_errno,
    require_unsigned,
)
from pybpf._core.fdinfo import require_bpf_fd_kind
from pybpf._core.ffi import ffi, lib
from pybpf._core.public import public
from pybpf._maps.info import info_of, map_info, possible_cpus
from pybpf._maps.info import map_type as type_of
from pybpf._maps.pinning import MapPinning

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar

    from pybpf._core.reports import MapInfo
    from pybpf._maps.mmap import MappedArray
    from pybpf._object.object import BPFObject

    M = TypeVar("M", bound="MapBase")

__all__ = ["MapBase", "scratch"]

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
# Created only with BPF_F_NO_PREALLOC: the kernel refuses them without it.
_NO_PREALLOC_ONLY = frozenset(
    int(t)
    for t in (MapType.LPM_TRIE, MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.TASK_STORAGE, MapType.CGRP_STORAGE)
)
_tls = _thread._local()  # threading.local itself, without importing threading: start-up time
# What the kernel answers for a map type that takes no BTF for its key or value.
_BTF_REFUSED = frozenset({errno.EINVAL, errno.EOPNOTSUPP, 524})  # 524: ENOTSUPP


def scratch(size: int) -> Any:
    """A per-thread buffer of at least ``size`` bytes for one syscall's output.

    Per thread because cffi releases the GIL during the syscall.
    """
    buf = getattr(_tls, "buf", None)
    if buf is None or len(buf) < size:
        buf = _tls.buf = ffi.new("char[]", max(size, 256))
    return buf


@public
class MapBase(MapPinning):
    """What every BPF map has; see :class:`pybpf.Map` and :class:`pybpf.KeylessMap`.

    Maps of a ``BPFObject`` are views owned by the object (closing the object
    closes them).  ``create``, ``from_pinned`` and ``from_id`` return maps
    that own their file descriptor: close them, or use ``with``.  Called on
    ``Map`` (or ``MapBase``) they return the class registered for the map's
    type (``LPMTrie``, ``QueueMap``, ...); called on a subclass, that class.
    """

    # What the hot paths read is in slots: CPython reads a slot at a fixed
    # offset whatever else the instance holds.  Other attributes share a
    # layout of at most 30 names per class (CPython 3.11); past that, every
    # instance gets a dict of its own and each read costs about 4 ns more
    # (measured: a map call 3% slower).
    __slots__ = (
        "_guard",
        "_fd",
        "_fast",
        "_lookup_int",
        "_update_int",
        "_delete_int",
        "_contains_int",
        "_sentinel",
        "_words",
        "_key_pack",
        "_lookup_key",
        "_percpu_int",
        "_ncpus",
        "_kcodec",
        "_vcodec",
        "_vtotal",
    )

    _kind = "map"
    _by_type: ClassVar[dict[int, type[MapBase]]] = {}
    _pinned_at: str | None = None  # where pin() put a map of our own (set only then)
    _elements: MappedArray | None = None  # an MMAPABLE integer array's mapping (see _map_elements)

    def __init_subclass__(cls, map_types: tuple[MapType, ...] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for kind in map_types:
            MapBase._by_type[int(kind)] = cls

    @staticmethod
    def class_for(kind: int) -> type[MapBase]:
        """The class of maps of type ``kind``: a family's, or ``Map``."""
        cls = MapBase._by_type.get(kind)
        if cls is None:
            family = _FAMILIES.get(kind)
            if family is None:
                from pybpf._maps.map import Map  # the keyed default; it imports this module

                return Map
            # A family's classes register their types when its module is
            # imported: when a map of one of them first appears.
            __import__(f"pybpf._maps.{family}")
            cls = MapBase._by_type[kind]
        return cls

    @staticmethod
    def declared(spec: Any) -> dict[str, Any]:
        """What libbpf's ``struct bpf_map`` declares now, as constructor arguments."""
        return {
            "map_type": lib.bpf_map__type(spec),
            "key_size": lib.bpf_map__key_size(spec),
            "value_size": lib.bpf_map__value_size(spec),
            "max_entries": lib.bpf_map__max_entries(spec),
            "flags": lib.bpf_map__map_flags(spec),
        }

    @classmethod
    def view_of(cls, spec: Any, *, name: str, owner: BPFObject | None, btf: BTF | None) -> MapBase:
        """A view of an opened object's map, of the class its type gives."""
        arguments = cls._view_arguments(spec, name=name, owner=owner, btf=btf)
        return cls.class_for(arguments["map_type"])(**arguments)

    @classmethod
    def _view_arguments(cls, spec: Any, *, name: str, owner: BPFObject | None, btf: BTF | None) -> dict[str, Any]:
        return {
            "name": name,
            **cls.declared(spec),
            "owner": owner,
            "spec": spec,
            "btf": btf,
            "btf_key_type_id": lib.bpf_map__btf_key_type_id(spec),
            "btf_value_type_id": lib.bpf_map__btf_value_type_id(spec),
        }

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
        owner: BPFObject | None = None,
        spec: Any = None,
        btf: BTF | None = None,
        btf_key_type_id: int = 0,
        btf_value_type_id: int = 0,
        key_type: Any = None,
        value_type: Any = None,
    ) -> None:
        self._init_handle(f"'{name}'")
        self._name = name
        self._type = type_of(int(map_type))
        self._key_size = key_size
        self._value_size = value_size
        self._max_entries = max_entries
        self._flags = flags
        self._fd = -1
        self._owner = owner  # keeps the owning object (and its fds) alive
        self._spec = spec  # struct bpf_map * while the object is not loaded
        self._ptr = spec  # the object's struct bpf_map *, for as long as the object is open
        self._btf = btf
        self._btf_ids = (btf_key_type_id, btf_value_type_id)
        self._user_types = (key_type, value_type)
        self._fast = False  # until _bind() sees the codecs
        self._delete_int = self._contains_int = _no_int_path
        self._update_int: Any = _no_int_path  # the integer update, for maps of unsigned integer values
        self._key_pack: Any = None  # a struct key's packer, with integer values (see _bind)
        self._percpu_int: Any = None  # the per-CPU integer lookup (see _bind)
        self._words: memoryview | None = None  # an MMAPABLE integer array's elements (see _map_elements)
        if fd >= 0:
            self._bind(fd)
            if owned:  # an fd is the process's own: closing a forked child's copy is all a child may do
                self._own(partial(os.close, fd), forget=partial(os.close, fd))

    # -- construction -------------------------------------------------------

    @classmethod
    def create(
        cls: type[M],
        map_type: MapType | int,
        *,
        key_size: int,
        value_size: int,
        max_entries: int,
        name: str = "",
        flags: MapFlags | int = 0,
        key_type: Any = None,
        value_type: Any = None,
        inner_map: MapBase | None = None,
        map_extra: int = 0,
    ) -> M:
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
        if len(name) > 15 or not _NAME_CHARS.issuperset(name):
            raise BPFValueError(errno.EINVAL, f"map name {name!r}: at most 15 characters of [A-Za-z0-9_.]")
        for what, number, bits in (
            ("key_size", key_size, 32),
            ("value_size", value_size, 32),
            ("max_entries", max_entries, 32),
            ("flags", int(flags), 32),
            ("map_extra", map_extra, 64),
        ):
            require_unsigned(f"create map '{name}'", what, number, bits)
        opts = ffi.new("struct bpf_map_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_map_create_opts")
        if int(map_type) in _NO_PREALLOC_ONLY:
            flags = int(flags) | MapFlags.NO_PREALLOC
        opts.map_flags = int(flags)
        if inner_map is not None:
            opts.inner_map_fd = inner_map.fd
        opts.map_extra = map_extra
        what = (
            f"create map '{name}' ({type_of(int(map_type)).name}, key {key_size} B, value {value_size} B, "
            f"{max_entries} entries)"
        )
        fd = _create_with_types(
            int(map_type), name, (key_size, value_size, max_entries), opts, (key_type, value_type), what
        )
        return cls._from_owned_fd(fd, what=f"map '{name}'", key_type=key_type, value_type=value_type)

    @classmethod
    def from_pinned(cls: type[M], path: str | os.PathLike[str], *, key_type: Any = None, value_type: Any = None) -> M:
        """Open the map pinned at ``path`` (a bpffs file); the caller owns the new fd."""
        path = os.fspath(path)
        fd = check(lib.bpf_obj_get(c_string(path, "open pinned map")), f"open pinned map {path}")
        return cls._from_owned_fd(fd, what=path, key_type=key_type, value_type=value_type)

    @classmethod
    def from_id(cls: type[M], map_id: int, *, key_type: Any = None, value_type: Any = None) -> M:
        """Open the live map with kernel id ``map_id``; the caller owns the new fd."""
        require_unsigned("open map by id", "map_id", map_id, 32)
        fd = check(lib.bpf_map_get_fd_by_id(map_id), f"open map id {map_id}")
        return cls._from_owned_fd(fd, what=f"map id {map_id}", key_type=key_type, value_type=value_type)

    @classmethod
    def _from_owned_fd(cls: type[M], fd: int, *, what: str, key_type: Any, value_type: Any) -> M:
        try:
            require_bpf_fd_kind(fd, "map", what)
            info = map_info(fd, what)
            btf = BTF.from_kernel(info.btf_id) if info.btf_id and (key_type is None or value_type is None) else None
            kind = cls if cls not in _GENERIC else cls.class_for(info.type)
            return kind(  # type: ignore[return-value]
                name=ffi.string(info.name).decode(errors="replace"),
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

    def _before_load(self) -> None:
        """What a map of an opened object settles just before the object
        loads: nothing, but a family may adjust its declaration."""

    def _bind(self, fd: int) -> None:
        """Take the live fd and build the codecs and fast-path settings."""
        if self._spec is not None:
            # load() may change what the object declared: a STRUCT_OPS value
            # becomes the kernel's larger wrapper struct, a PERF_EVENT_ARRAY
            # of 0 entries gets one per CPU, a reused fd brings its map's
            # definition.  Buffers are sized from these.
            self._redeclared()
        self._kcodec = self._codec(self._user_types[0], self._btf_ids[0], self._key_size, "key")
        value = self._codec(self._user_types[1], self._btf_ids[1], self._value_size, "value")
        self._vcodec: Codec = PerCPUCodec(value, possible_cpus()) if self._type.is_percpu else value
        self._vtotal = self._vcodec.size
        kcodec, vcodec = self._kcodec, self._vcodec
        fast = (
            isinstance(kcodec, IntCodec)
            and not kcodec.signed
            and isinstance(vcodec, IntCodec)
            and lib.pybpf_guard_ints(self._guard, self._key_size, self._value_size) == 0
        )
        self._fast = fast
        self._percpu_int = self._key_pack = None
        # Bound either way, so that `in`, `del` and `m[k] = v` test only the types.
        self._delete_int = self._contains_int = self._update_int = _no_int_path
        if fast:
            signed = isinstance(vcodec, IntCodec) and vcodec.signed
            self._lookup_int = lib.pybpf_lookup_sint if signed else lib.pybpf_lookup_uint
            self._sentinel = -(1 << 63) if signed else (1 << 64) - 1
            if not signed:
                self._update_int = lib.pybpf_update_int
            self._delete_int = lib.pybpf_delete_int
            self._contains_int = lib.pybpf_contains_int
        # Per-CPU integers under integer keys: C widens every CPU's slot to 64
        # bits, Python unpacks them in one call.
        inner = vcodec.inner if isinstance(vcodec, PerCPUCodec) else None
        if (
            isinstance(kcodec, IntCodec)
            and not kcodec.signed
            and isinstance(inner, IntCodec)
            and lib.pybpf_guard_ints(self._guard, self._key_size, self._value_size) == 0
        ):
            self._percpu_int = lib.pybpf_lookup_percpu_sint if inner.signed else lib.pybpf_lookup_percpu_uint
            self._ncpus = vcodec.ncpus  # type: ignore[attr-defined]  # a PerCPUCodec, as inner says
        # Keys that are structs of whole integers, values that are integers:
        # a tuple key is packed in one call and the value comes back by value.
        packer = getattr(kcodec, "packer", None)
        if (
            packer is not None
            and isinstance(vcodec, IntCodec)
            and lib.pybpf_guard_int_values(self._guard, self._value_size) == 0
        ):
            self._key_pack = packer.pack
            self._lookup_key = lib.pybpf_lookup_key_sint if vcodec.signed else lib.pybpf_lookup_key_uint
            self._sentinel = -(1 << 63) if vcodec.signed else (1 << 64) - 1
        self._guard.fd = fd
        self._fd = fd
        self._spec = None
        self._unmap_elements()
        if fast and self._type == MapType.ARRAY and self._flags & MapFlags.MMAPABLE:
            self._map_elements()

    def _map_elements(self) -> None:
        """Map an MMAPABLE integer array's elements so that ``m[k]`` reads
        (and ``m[k] = v`` writes) memory instead of making a syscall: a
        typed view whose item ``k`` is element ``k``."""
        from pybpf._maps.mmap import MappedArray  # here, not at import: most maps are not mapped

        vcodec = self._vcodec
        assert isinstance(vcodec, IntCodec)
        self._elements = MappedArray(
            self._fd, count=self._max_entries, value_size=self._value_size, codec=vcodec, name=self._name
        )
        typed = self._elements.buffer.cast(vcodec.format)
        step = 8 // vcodec.size  # elements are 8 bytes apart
        if step > 1:  # a strided view: no multiplication per access
            self._words = typed[::step]
            typed.release()  # the slice keeps the buffer
        else:
            self._words = typed

    def _unmap_elements(self) -> None:
        words, elements = self._words, self._elements
        self._words = None
        if elements is not None:
            del self._elements  # the class's "none" shows again
        if words is not None:
            words.release()
        if elements is not None:
            elements.close()

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
            return BytesCodec(size, what)  # BTF that does not fit the map: read what is there
        return codec_for_ctype(untyped_ctype(size), what)  # nobody described it: the documented rule

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
        """Release this map's fd (the kernel frees the map when nothing else
        holds it).  Idempotent; calls in flight on other threads finish
        first, later ones fail with "closed".  A map of a ``BPFObject`` is
        closed with its object."""
        super().close()

    def _after_release(self) -> None:
        self._fast = False
        self._update_int = _no_int_path
        self._unmap_elements()
        self._fd = -1
        if self._btf is not None and self._owner is None:
            self._btf.close()
        self._owner = None
        self._spec = self._ptr = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._fd}"
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
        return self.info().id

    @property
    def name(self) -> str:
        """The map's name (the kernel keeps 15 characters)."""
        return self._name

    @property
    def type(self) -> MapType:
        """The map type; settable on an opened object's map before load, as
        tools fall back from RINGBUF to PERF_EVENT_ARRAY.  The view then
        becomes the new type's class (``KeylessMap``, ``Map`` ...), and
        types chosen with ``set_types`` are dropped."""
        return self._type

    @type.setter
    def type(self, kind: MapType | int) -> None:
        spec = self._unloaded_spec("type")
        require_unsigned(f"set type of map '{self._name}'", "type", int(kind), 32)
        check(lib.bpf_map__set_type(spec, int(kind)), f"set type of map '{self._name}' to {kind!r}")
        self._redeclared()

    @property
    def key_size(self) -> int:
        """Size of a key in bytes; settable on an opened object's map before load."""
        return self._key_size

    @key_size.setter
    def key_size(self, size: int) -> None:
        self._declare("key_size", size, 32, lib.bpf_map__set_key_size)

    @property
    def value_size(self) -> int:
        """Size of one value in bytes (of one CPU's slot for per-CPU maps).

        Settable on an opened object's map before load, as tools size a
        stack map's frames at run time; a BTF value type of another size is
        then not used to decode (values read as bytes, or ``set_types``)."""
        return self._value_size

    @value_size.setter
    def value_size(self, size: int) -> None:
        self._declare("value_size", size, 32, lib.bpf_map__set_value_size)

    @property
    def flags(self) -> int:
        """The map's creation flags (``BPF_F_*``); settable on an opened
        object's map before load."""
        return self._flags

    @flags.setter
    def flags(self, flags: MapFlags | int) -> None:
        self._declare("flags", int(flags), 32, lib.bpf_map__set_map_flags)

    @property
    def max_entries(self) -> int:
        """The map's capacity; settable on an opened object's map before load."""
        return self._max_entries

    @max_entries.setter
    def max_entries(self, value: int) -> None:
        self._declare("max_entries", value, 32, lib.bpf_map__set_max_entries)

    @property
    def numa_node(self) -> int:
        """The NUMA node the kernel allocates an object's map on (with
        ``MapFlags.NUMA_NODE``); settable before load.  The kernel does not
        report it for other maps."""
        if self._ptr is None:
            raise NotSupportedError(
                errno.EOPNOTSUPP, f"map '{self._name}': the kernel does not report a map's NUMA node"
            )
        return int(lib.bpf_map__numa_node(self._ptr))

    @numa_node.setter
    def numa_node(self, node: int) -> None:
        self._declare("numa_node", node, 32, lib.bpf_map__set_numa_node)

    @property
    def map_extra(self) -> int:
        """The type's extra parameter (BLOOM_FILTER: hash functions; ARENA:
        the user-space address); settable before load."""
        return int(lib.bpf_map__map_extra(self._ptr)) if self._ptr is not None else self.info().map_extra

    @map_extra.setter
    def map_extra(self, extra: int) -> None:
        self._declare("map_extra", extra, 64, lib.bpf_map__set_map_extra)

    def reuse_fd(self, existing: MapBase | int) -> None:
        """Make ``load()`` use an existing map (a ``Map`` or a map fd) instead
        of creating this one, as ``bpf_map__reuse_fd`` does: the programs
        then share it.  Its definition (type, sizes, flags) replaces the
        declared one; the object holds its own reference to it."""
        spec = self._unloaded_spec("reuse_fd")
        if isinstance(existing, MapBase):
            fd = existing.fd
            what = f"map '{existing.name}'"
        else:
            require_unsigned(f"map '{self._name}': reuse_fd", "fd", existing, 31)
            require_bpf_fd_kind(existing, "map", f"map '{self._name}': reuse_fd {existing}")
            fd, what = existing, f"map fd {existing}"
        check(lib.bpf_map__reuse_fd(spec, fd), f"map '{self._name}': reuse {what}")
        self._redeclared()

    def _declare(self, setting: str, value: int, bits: int, setter: Any) -> None:
        spec = self._unloaded_spec(setting)
        require_unsigned(f"set {setting} of map '{self._name}'", setting, value, bits)
        check(setter(spec, value), f"set {setting} of map '{self._name}' to {value}")
        self._redeclared()

    def _redeclared(self) -> None:
        """Read back what libbpf now declares for the map: its sizes and
        flags, and a new type, for which the view becomes that type's class
        (nothing is bound before load).  Its BTF type ids stay those of the
        declaration: libbpf clears them at load for types the kernel takes
        without BTF."""
        declared = self.declared(self._spec)
        if type_of(declared["map_type"]) != self._type:
            fresh = self.class_for(declared["map_type"])
            self.__class__ = fresh
            fresh.__init__(self, **self._view_arguments(self._spec, name=self._name, owner=self._owner, btf=self._btf))
            return
        self._key_size = declared["key_size"]
        self._value_size = declared["value_size"]
        self._max_entries = declared["max_entries"]
        self._flags = declared["flags"]

    @property
    def declared_bytes(self) -> int:
        """The memory this map's declaration asks of the kernel, in bytes.

        ``max_entries`` times key plus value (per-CPU maps: one value rounded
        up to 8 bytes per possible CPU); a ring buffer's size; an arena's
        pages.  The kernel's own per-entry bookkeeping comes on top.  Hash
        maps without preallocation reach it only when full, but may fill."""
        if self._type in (MapType.RINGBUF, MapType.USER_RINGBUF):
            return self._max_entries
        if self._type == MapType.ARENA:
            return self._max_entries * os.sysconf("SC_PAGE_SIZE")
        value = ((self._value_size + 7) & ~7) * possible_cpus() if self._type.is_percpu else self._value_size
        return self._max_entries * (self._key_size + value)

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
        spec = self._unloaded_spec("autocreate")
        check(lib.bpf_map__set_autocreate(spec, bool(value)), f"set autocreate of map '{self._name}'")

    def _unloaded_spec(self, setting: str) -> Any:
        """libbpf's map, for a setting that exists only before load."""
        if self._spec is None:
            raise BPFValueError(
                errno.EINVAL, f"map '{self._name}': {setting} can only be set on an opened object before load()"
            )
        return self._spec

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
        if self._guard.closed:
            raise self._closed_error()
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
        from pybpf._maps.mmap import MappedArray  # here, not at import: most maps are not mapped

        with self._use():
            return MappedArray(
                self._fd, count=self._max_entries, value_size=self._value_size, codec=self._vcodec, name=self._name
            )

    # -- inspection -----------------------------------------------------------

    def info(self) -> MapInfo:
        """What the kernel says about the map now (``BPF_OBJ_GET_INFO_BY_FD``)."""
        self._require_live()
        with self._use():
            return info_of(map_info(self._fd, f"map '{self._name}'"))


def _create_with_types(
    map_type: int, name: str, sizes: tuple[int, int, int], opts: Any, types: tuple[Any, Any], what: str
) -> int:
    """Create a map with BTF of its key and value types (those given, the
    untyped rule's for a side not given), so every later handle (bpftool,
    from_id, from_pinned, map-in-map reads) decodes it the same way."""
    key_size, value_size, max_entries = sizes
    ctypes_of = []
    for given, size, side in zip(types, (key_size, value_size), ("key", "value")):
        if given is None:
            ctypes_of.append(untyped_ctype(size) if size else None)
            continue
        codec = codec_for_ctype(given, side)
        if codec.size != size:
            raise BPFValueError(
                errno.EINVAL, f"map '{name}': {side} type {given!r} is {codec.size} bytes, the map's {side}s are {size}"
            )
        ctypes_of.append(codec.ctype)
    if ctypes_of == [None, None]:  # nothing to describe (a ring buffer)
        return check(lib.bpf_map_create(map_type, name.encode(), key_size, value_size, max_entries, opts), what)
    with TypeWriter() as writer:
        try:
            ids = [writer.add(c) if c is not None else 0 for c in ctypes_of]
            opts.btf_fd = writer.load()
            opts.btf_key_type_id, opts.btf_value_type_id = ids
        except BPFError as exc:  # a type BTF cannot say (or a kernel without BTF)
            warnings.warn(f"{what}: created without BTF, the types stay this handle's: {exc}", stacklevel=3)
            opts.btf_fd = 0
        ret = lib.bpf_map_create(map_type, name.encode(), key_size, value_size, max_entries, opts)
        if ret < 0 and opts.btf_fd and -ret in _BTF_REFUSED:
            # Types the map type does not take as BTF (LPM keys, fd maps):
            # created without, as libbpf retries; the types stay this handle's.
            opts.btf_fd = opts.btf_key_type_id = opts.btf_value_type_id = 0
            ret = lib.bpf_map_create(map_type, name.encode(), key_size, value_size, max_entries, opts)
        return check(ret, what)


def _no_int_path(guard: Any, key: int, *value_and_flags: int) -> int:
    """What a map without the integer fast path answers in its place: "out
    of range", which sends the caller to the codecs."""
    return -errno.ERANGE


# Classes whose constructors give the registered class of the map's type.
_GENERIC: set[type[MapBase]] = {MapBase}

# The module of each family (pybpf._maps.<module>), whose classes register
# these types; every other type is keyed, a ``Map`` (pybpf._maps.map).
_FAMILY_TYPES: dict[str, tuple[MapType, ...]] = {
    "keyless": (MapType.RINGBUF, MapType.USER_RINGBUF, MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER),
    "fdmaps": (
        MapType.SOCKMAP,
        MapType.SOCKHASH,
        MapType.PROG_ARRAY,
        MapType.XSKMAP,
        MapType.CGROUP_ARRAY,
        MapType.PERF_EVENT_ARRAY,
    ),
    "lpm": (MapType.LPM_TRIE,),
    "mapinmap": (MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS),
    "redirect": (MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP),
    "stacks": (MapType.STACK_TRACE,),
    "storage": (MapType.TASK_STORAGE, MapType.SK_STORAGE, MapType.INODE_STORAGE, MapType.CGRP_STORAGE),
    "structops": (MapType.STRUCT_OPS,),
}
_FAMILIES = {int(kind): family for family, kinds in _FAMILY_TYPES.items() for kind in kinds}

"""Global variables of an object's data sections (``.rodata``, ``.data``,
``.bss``, and custom ones such as ``.data.foo``), as a skeleton shows them.

Before load they are written into libbpf's initial image of the section, which
load copies into the kernel.  After load the section's map is memory-mapped:
reads and writes reach the kernel's copy directly, with no syscall, and BPF
programs see them at once.  ``.rodata`` sections are frozen by load, so they
can be set only before.  Values are typed from BTF like map values; arrays
and structs are :class:`DataView` objects, written in place.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import warnings
from collections.abc import Iterator, MutableMapping

from pybpf._codecs.btf import BTF, DataSecVar
from pybpf._codecs.codec import Codec, IntCodec, codec_for_ctype
from pybpf._core.enums import MapFlags
from pybpf._core.errors import BPFKeyError, BPFValueError, NotSupportedError
from pybpf._core.ffi import ffi, lib
from pybpf._core.public import public
from pybpf._maps.base import MapBase
from pybpf._maps.mmap import MappedArray
from pybpf._object.dataview import DataView, is_aggregate

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

    from pybpf._maps.map import Map
    from pybpf._object.object import BPFObject

__all__ = ["GlobalData"]


@public
class GlobalData(MutableMapping[str, "Any"]):  # a string: typing is not imported at run time
    """The variables of one data section, by name.

    ``obj.rodata["target_pid"] = 1234`` before ``load()`` sets a
    ``const volatile`` global; reading works before and after load.
    ``obj.bss["limit"] = 10`` after load changes what running programs read.
    ``obj.data["ports"][0] = 80`` writes one element in place; a ``char[N]``
    takes shorter ``bytes`` or a ``str``, NUL-padded.  ``static`` variables
    (a function's, or ``bpf_printk``'s format) are left out of iteration and
    ``len()``, as a skeleton leaves them out, but are reachable by name.
    """

    def __init__(self, obj: BPFObject, section: str, section_map: MapBase | None, btf: BTF | None) -> None:
        self._obj = obj
        self._section = section
        self._map = section_map  # the section's internal map
        self._mapped: MappedArray | None = None  # its memory, once loaded
        self._vars: dict[str, DataSecVar] = btf.datasec(section) if btf is not None else {}
        self._listed = [name for name, var in self._vars.items() if not var.static]
        self._codecs: dict[str, Codec] = {}
        self._btf = btf
        # After load: integer variables as one-item typed views of the mapped
        # section, so that reading or writing one is a memory access.
        self._words: dict[str, memoryview] = {}

    @property
    def name(self) -> str:
        """``.rodata of 'obj'``: the section, as messages name it."""
        return f"{self._section} of '{self._obj.name}'"

    def _var(self, name: str) -> DataSecVar:
        self._obj._require_open()  # the BTF below belongs to the open object
        try:
            return self._vars[name]
        except KeyError:
            raise BPFKeyError(
                errno.ENOENT, f"{self._section} has no variable {name!r} (has: {', '.join(self._listed) or 'none'})"
            ) from None

    def _codec(self, name: str, var: DataSecVar) -> Codec:
        codec = self._codecs.get(name)
        if codec is None:
            assert self._btf is not None
            ints = self._btf.int_info(var.type_id)
            codec = (
                IntCodec(*ints, what=name)
                if ints and ints[0] == var.size
                else codec_for_ctype(self._btf.ctype(var.type_id), name)
            )
            self._codecs[name] = codec
        return codec

    def _image(self) -> Any:
        self._obj._require_open()
        if self._map is None:  # libbpf would dereference NULL
            raise BPFKeyError(errno.ENOENT, f"object '{self._obj.name}' has no {self._section} section")
        if self._obj.loaded:
            # libbpf's image is a private copy after load: use the kernel's memory.
            if not self._map.flags & MapFlags.MMAPABLE:
                # libbpf maps only sections with a global variable; one of
                # static variables alone is read (and written) by syscall.
                from typing import cast  # here, not at import: start-up time

                return bytearray(cast("Map", self._map)[0])
            if self._mapped is None:
                self._mapped = self._map.mmap()
            return self._mapped.buffer[: self._map.value_size]
        size = ffi.new("size_t *")
        ptr = lib.bpf_map__initial_value(self._map._spec, size)
        if ptr == ffi.NULL:
            raise BPFValueError(errno.EINVAL, f"{self._section} of '{self._obj.name}' has no readable image")
        return ffi.buffer(ptr, size[0])

    def _span(self, image: Any, offset: int, size: int, where: str) -> slice:
        if offset + size > len(image):
            # Only a damaged object's BTF places a variable outside its section.
            raise BPFValueError(
                errno.EINVAL,
                f"{self.name}: BTF places {where!r} at bytes {offset}..{offset + size}, "
                f"outside the section's {len(image)} bytes",
            )
        return slice(offset, offset + size)

    def _read(self, offset: int, size: int, where: str = "") -> bytes:
        """``size`` bytes of the section at ``offset``, as they are now."""
        image = self._image()
        return bytes(image[self._span(image, offset, size, where)])

    def _write(self, offset: int, data: bytes, where: str) -> None:
        """Write ``data`` at ``offset`` of the section (not a frozen ``.rodata``)."""
        self._store(*self._place(offset, len(data), where), data)

    def _place(self, offset: int, size: int, where: str) -> tuple[Any, slice]:
        """The section's memory for a write of ``size`` bytes at ``offset``,
        and where in it: a frozen ``.rodata`` or a place outside the section
        is refused first."""
        if self._obj.loaded and self._section.startswith(".rodata"):
            self._obj._require_open()
            raise BPFValueError(errno.EPERM, f"{self.name} is frozen by load(): set {where!r} before load()")
        image = self._image()
        return image, self._span(image, offset, size, where)

    def _store(self, image: Any, place: slice, data: bytes) -> None:
        image[place] = data
        if isinstance(image, bytearray):  # a copy read by syscall: write it back whole
            from typing import cast  # here, not at import: start-up time

            cast("Map", self._map)[0] = bytes(image)

    def __getitem__(self, name: str) -> Any:
        try:  # an integer variable read before: its mapped word (a subscript, not .get(): the hot read)
            return self._words[name][0]
        except (KeyError, ValueError):  # not mapped (yet), or released by a close() on another thread: as below
            pass
        var = self._var(name)
        assert self._btf is not None
        ctype = self._btf.ctype(var.type_id)
        if is_aggregate(ctype):
            self._read(var.offset, ctypes.sizeof(ctype), name)  # one outside its section fails here, not later
            return DataView(self, ctype, var.offset, name)
        codec = self._codec(name, var)
        value = codec.decode(self._read(var.offset, codec.size, name))
        self._map_word(name, var, codec)
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        if type(value) is int:
            try:
                self._words[name][0] = value
                return
            except (KeyError, TypeError, ValueError):  # not mapped, read-only (.rodata), out of range: as below
                pass
        var = self._var(name)
        codec = self._codec(name, var)
        image, place = self._place(var.offset, codec.size, name)  # before encoding: where it goes is the first error
        self._store(image, place, codec.encode(value))
        self._map_word(name, var, codec)

    def memory(self, name: str) -> memoryview:
        """Integer variable ``name`` of a loaded object as a one-item typed
        memoryview of the mapped section: ``view[0]`` reads it and ``view[0]
        = v`` writes it, at the cost of a memoryview item (for a hot loop).
        It is released when the object closes; any view made from it must
        be released before."""
        var = self._var(name)
        codec = self._codec(name, var)
        self[name]  # maps the section (and checks the variable) as a read does
        word = self._words.get(name)
        if word is None:
            raise NotSupportedError(
                errno.EOPNOTSUPP,
                f"{self.name}: {name!r} is not an aligned integer of 1, 2, 4 or 8 bytes in mapped memory "
                f"({codec.size} bytes at offset {var.offset}{'' if self._obj.loaded else '; load() first'})",
            )
        return word

    def _map_word(self, name: str, var: DataSecVar, codec: Codec) -> None:
        """Keep an integer variable of the mapped section as a typed view of it."""
        if self._mapped is None or not isinstance(codec, IntCodec) or var.offset % codec.size:
            return
        if codec.format is not None:
            memory = self._mapped.buffer[var.offset : var.offset + codec.size]
            self._words[name] = memory.cast(codec.format)

    def _unmap(self) -> None:
        """Release the section's memory (the object is closing).  A view of it
        the caller still holds keeps the mapping, with a warning, rather than
        stop the object from closing."""
        words, self._words = self._words, {}
        for word in words.values():
            with contextlib.suppress(BufferError):  # exported further: dropped here, released with its last user
                word.release()
        mapped, self._mapped = self._mapped, None
        if mapped is None:
            return
        try:
            mapped.close()
        except BPFValueError:
            warnings.warn(
                f"{self.name}: a view of its memory is still in use; the mapping stays until that view is released",
                ResourceWarning,
                stacklevel=4,
            )

    def __delitem__(self, name: str) -> None:
        raise BPFValueError(errno.EINVAL, f"global variables cannot be deleted ({name!r} in {self._section})")

    def __iter__(self) -> Iterator[str]:
        return iter(self._listed)

    def __len__(self) -> int:
        return len(self._listed)

    def __contains__(self, name: object) -> bool:
        return name in self._vars

    def __repr__(self) -> str:
        return f"<pybpf.GlobalData {self.name}: {', '.join(self._listed)}>"

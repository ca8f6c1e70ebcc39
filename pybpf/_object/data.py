"""Global variables of an object's data sections (``.rodata``, ``.data``, ``.bss``).

Before load they are written into libbpf's initial image of the section, which
load copies into the kernel.  After load the section's map is memory-mapped:
reads and writes reach the kernel's copy directly, with no syscall, and BPF
programs see them at once.  ``.rodata`` is frozen by load, so it can be set
only before.  Values are typed from BTF like map values.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from pybpf._codecs.btf import BTF
from pybpf._codecs.codec import Codec, IntCodec, codec_for_ctype
from pybpf._core.errors import BPFKeyError, BPFValueError
from pybpf._core.ffi import ffi, lib
from pybpf._maps.base import MapBase
from pybpf._maps.mmap import MappedArray

if TYPE_CHECKING:
    from pybpf._object.object import BPFObject

__all__ = ["GlobalData"]


class GlobalData(MutableMapping[str, Any]):
    """The variables of one data section, by name.

    ``obj.rodata["target_pid"] = 1234`` before ``load()`` sets a
    ``const volatile`` global; reading works before and after load.
    ``obj.bss["limit"] = 10`` after load changes what running programs read.
    """

    def __init__(self, obj: BPFObject, section: str, section_map: MapBase | None, btf: BTF | None) -> None:
        self._obj = obj
        self._section = section
        self._map = section_map  # the section's internal map
        self._mapped: MappedArray | None = None  # its memory, once loaded
        self._vars = btf.datasec(section) if btf is not None else {}
        self._codecs: dict[str, Codec] = {}
        self._btf = btf

    def _codec(self, name: str) -> tuple[Codec, int]:
        self._obj._require_open()  # the BTF below belongs to the open object
        try:
            type_id, offset, size = self._vars[name]
        except KeyError:
            raise BPFKeyError(
                errno.ENOENT, f"{self._section} has no variable {name!r} (has: {', '.join(self._vars) or 'none'})"
            ) from None
        codec = self._codecs.get(name)
        if codec is None:
            assert self._btf is not None
            ints = self._btf.int_info(type_id)
            codec = (
                IntCodec(*ints, what=name)
                if ints and ints[0] == size
                else codec_for_ctype(self._btf.ctype(type_id), name)
            )
            self._codecs[name] = codec
        return codec, offset

    def _image(self) -> Any:
        self._obj._require_open()
        if self._map is None:  # libbpf would dereference NULL
            raise BPFKeyError(errno.ENOENT, f"object '{self._obj.name}' has no {self._section} section")
        if self._obj.loaded:
            # libbpf's image is a private copy after load: use the kernel's memory.
            if self._mapped is None:
                self._mapped = self._map.mmap()
            return self._mapped.buffer[: self._map.value_size]
        size = ffi.new("size_t *")
        ptr = lib.bpf_map__initial_value(self._map._spec, size)
        if ptr == ffi.NULL:
            raise BPFValueError(errno.EINVAL, f"{self._section} of '{self._obj.name}' has no readable image")
        return ffi.buffer(ptr, size[0])

    def _slot(self, name: str) -> tuple[Codec, Any, slice]:
        """A variable's codec, the section's memory and where the variable lies in it."""
        codec, offset = self._codec(name)
        image = self._image()
        if offset + codec.size > len(image):
            # Only a damaged object's BTF places a variable outside its section.
            raise BPFValueError(
                errno.EINVAL,
                f"{self._section} of '{self._obj.name}': BTF places {name!r} at bytes {offset}..{offset + codec.size}, "
                f"outside the section's {len(image)} bytes",
            )
        return codec, image, slice(offset, offset + codec.size)

    def __getitem__(self, name: str) -> Any:
        codec, image, where = self._slot(name)
        return codec.decode(image[where])

    def __setitem__(self, name: str, value: Any) -> None:
        self._codec(name)  # an unknown name is a KeyError first
        if self._obj.loaded and self._section == ".rodata":
            raise BPFValueError(
                errno.EPERM, f".rodata of '{self._obj.name}' is frozen by load(): set {name!r} before load()"
            )
        codec, image, where = self._slot(name)
        image[where] = codec.encode(value)

    def _unmap(self) -> None:
        """Release the section's memory (the object is closing)."""
        if self._mapped is not None:
            self._mapped.close()
            self._mapped = None

    def __delitem__(self, name: str) -> None:
        raise BPFValueError(errno.EINVAL, f"global variables cannot be deleted ({name!r} in {self._section})")

    def __iter__(self) -> Iterator[str]:
        return iter(self._vars)

    def __len__(self) -> int:
        return len(self._vars)

    def __repr__(self) -> str:
        return f"<pybpf.GlobalData {self._section} of '{self._obj.name}': {', '.join(self._vars)}>"

"""Pinning a map on a bpffs: the pin holds the map beyond this process."""

from __future__ import annotations

import errno
import os

from pybpf._core.errors import BPFFileNotFoundError, BPFValueError, c_string, c_text, check
from pybpf._core.ffi import ffi, lib
from pybpf._core.handle import OwnedHandle
from pybpf._core.mounts import require_bpffs

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MapPinning"]


class MapPinning(OwnedHandle):
    """The pinning operations of every map (a part of ``MapBase``)."""

    _name: str
    _fd: int
    _ptr: Any  # the object's struct bpf_map *, None for a map of our own
    _pinned_at: str | None  # where pin() put a map of our own

    if TYPE_CHECKING:  # MapBase's

        def _require_live(self) -> None: ...

        def _unloaded_spec(self, setting: str) -> Any: ...

    def pin(self, path: str | os.PathLike[str]) -> None:
        """Pin the map at ``path`` on a bpffs, so it outlives this process.

        The pin holds the map until :meth:`unpin` (or the file is removed).
        """
        path = os.fspath(path)
        self._require_live()
        require_bpffs(path, f"pin map '{self._name}'")
        what = f"pin map '{self._name}' at {path}"
        with self._use():
            if self._ptr is not None:  # libbpf remembers it (pin_path, unpin)
                check(lib.bpf_map__pin(self._ptr, c_string(path, what)), what)
            else:
                check(lib.bpf_obj_pin(self._fd, c_string(path, what)), what)
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
            with self._use():
                check(lib.bpf_map__unpin(self._ptr, c_string(target, what)), what, enoent=BPFFileNotFoundError)
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
        with self._use():
            raw = lib.bpf_map__pin_path(self._ptr)
            return None if raw == ffi.NULL else c_text(raw)

    def set_pin_path(self, path: str | os.PathLike[str] | None) -> None:
        """Before load: pin the map at ``path`` when the object loads, or, if a
        compatible map is pinned there already, use that one instead (how
        programs share a map).  An incompatible pinned map fails the load.
        None cancels."""
        spec = self._unloaded_spec("the pin path")
        raw = ffi.NULL if path is None else c_string(path, f"set the pin path of map '{self._name}'")
        check(lib.bpf_map__set_pin_path(spec, raw), f"set the pin path of map '{self._name}'")

"""``BPFObject``: an ELF object of BPF programs and maps, opened then loaded.

Two phases, as in libbpf: ``open`` parses the ELF (configure map sizes,
``.rodata`` constants, autoload here), ``load`` creates the maps and loads the
programs into the kernel.  ``close`` detaches every link made from the
object's programs and releases all its kernel objects.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator, Mapping
from functools import partial

from pybpf._attach.link import Link
from pybpf._codecs.btf import BTF
from pybpf._core.capabilities import verifier_hint
from pybpf._core.enums import ProgType
from pybpf._core.errors import (
    BPFError,
    BPFFileNotFoundError,
    BPFKeyError,
    BPFValueError,
    VerifierError,
    c_string,
    c_text,
    call_ptr,
    error_for,
    require_unsigned,
    with_details,
)
from pybpf._core.ffi import ffi, lib, log_capture
from pybpf._core.handle import OwnedHandle
from pybpf._core.mounts import require_bpffs
from pybpf._core.public import public
from pybpf._maps.base import MapBase
from pybpf._object.program import Program

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from pybpf._object.data import GlobalData

    T = TypeVar("T")

__all__ = ["BPFObject", "load"]

_ELF_MAGIC = b"\x7fELF"
# Patterns of libbpf's log, read only when a load fails: compiled then, by re's cache.
_PROG_LOG = r"(?s)prog '([^']+)': -- BEGIN PROG LOAD LOG --\n(.*?)-- END PROG LOAD LOG --"
_PIN_MISMATCH = r"couldn't reuse pinned map at '([^']+)'"
_RESTATED = r"BPF program load failed|failed to (?:load|prepare load attributes): -?\d+$"
_PROG_FAILED = r"prog '([^']+)': (?:BPF program load failed|failed to load)"


class _Sections(dict[str, "GlobalData"]):  # a string: data.py is imported on first use
    """An object's ``GlobalData`` by section name, each made on its first
    use: one made already is a plain dict subscript (``obj.bss`` in a loop)."""

    def __init__(self, make: Callable[[str], GlobalData]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, name: str) -> GlobalData:
        return self._make(name)


class _Named(Mapping[str, "T"]):  # a string: typing (TypeVar) is not imported at run time
    """A read-only name -> item mapping whose KeyError names what exists."""

    def __init__(self, items: dict[str, T], kind: str, owner: str) -> None:
        self._items = items
        self._kind = kind
        self._owner = owner

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            have = ", ".join(self._items) or "none"
            raise BPFKeyError(
                errno.ENOENT, f"object '{self._owner}' has no {self._kind} {name!r} ({self._kind}s: {have})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<{self._kind}s of '{self._owner}': {', '.join(self._items)}>"


@public
class BPFObject(OwnedHandle):
    """A BPF ELF object: its programs, maps and global data.

    Use ``BPFObject.open(path)``, configure, then ``load()``; or
    ``pybpf.load(path)``.  Use it as a context manager, or ``close()`` it:
    closing detaches the links made from its programs and frees its maps
    (unless pinned or held elsewhere).  A forked child's ``close()`` detaches
    nothing its parent attached.
    """

    _kind = "object"

    def __init__(self, ptr: Any, path: str, max_map_bytes: int | None = None) -> None:
        self._ptr = ptr
        self._path = path
        self._max_map_bytes = max_map_bytes
        self._loaded = False
        self._name = c_text(lib.bpf_object__name(ptr))
        self._init_handle(f"'{self._name}'")
        # Strong references: an attachment lives until its link or this object is closed.
        self._links: set[Link] = set()
        btf_ptr = lib.bpf_object__btf(ptr)
        self._btf = BTF(btf_ptr, owned=False) if btf_ptr != ffi.NULL else None

        maps: dict[str, MapBase] = {}
        self._internal: dict[str, Any] = {}
        datasecs = self._btf.datasecs() if self._btf is not None else []
        m = lib.bpf_object__next_map(ptr, ffi.NULL)
        while m != ffi.NULL:
            name = c_text(lib.bpf_map__name(m))
            maps[name] = MapBase.view_of(m, name=name, owner=self, btf=self._btf)
            if lib.bpf_map__is_internal(m):
                # "<object prefix>.rodata", or a custom section's own name
                # (".data.foo"); ".rodata.str1.1" & co hold no variables.
                sec = max((s for s in datasecs if name.endswith(s)), key=len, default=None)
                if sec is not None:
                    self._internal[sec] = maps[name]
            m = lib.bpf_object__next_map(ptr, m)
        self._maps = _Named(maps, "map", self._name)

        programs: dict[str, Program] = {}
        p = lib.bpf_object__next_program(ptr, ffi.NULL)
        while p != ffi.NULL:
            prog = Program(self, p)
            programs[prog.name] = prog
            p = lib.bpf_object__next_program(ptr, p)
        self._programs = _Named(programs, "program", self._name)
        self._section_names = list(dict.fromkeys([".rodata", ".data", ".bss", *self._internal]))
        self._sections = _Sections(self._new_section)
        self._check_map_bytes(f"open BPF object {path}")
        # Last: if anything above raised, open() frees the object, not a finalizer too.
        # A forked child leaves the object to its parent (its fds close when it exits).
        self._own(partial(lib.bpf_object__close, ptr))

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        pin_root: str | os.PathLike[str] | None = None,
        max_map_bytes: int | None = None,
    ) -> BPFObject:
        """Parse a BPF ELF object file; nothing reaches the kernel until ``load()``.

        ``pin_root`` is the bpffs directory where maps declared with
        ``__uint(pinning, LIBBPF_PIN_BY_NAME)`` are pinned under their names
        at load, or reused if a compatible map is pinned there already
        (default ``/sys/fs/bpf``).  An incompatible pinned map fails the load.

        ``max_map_bytes`` bounds the memory the object's maps may ask of the
        kernel (the sum of their ``declared_bytes``), checked here and again
        at ``load()``: the kernel allocates whatever a map declares, so set it
        when the object comes from someone you do not trust; ``load()``
        refuses before anything reaches the kernel, and the object stays
        open to be reconfigured.  BTF that libbpf would mishandle (a type id
        past the last type, a type that holds itself, a struct member past
        its end) is refused here, before libbpf parses it.
        """
        path = os.fspath(path)
        what = f"open BPF object {path}"
        raw_path = c_string(path, what)
        if max_map_bytes is not None:
            require_unsigned(what, "max_map_bytes", max_map_bytes, 64)
        try:
            with open(path, "rb") as f:
                magic = f.read(4)
        except FileNotFoundError:
            raise BPFFileNotFoundError(errno.ENOENT, f"{what}: no such file") from None
        except IsADirectoryError:
            raise BPFValueError(errno.EISDIR, f"{what}: is a directory") from None
        if magic != _ELF_MAGIC:
            raise BPFValueError(errno.ENOEXEC, f"{what}: not an ELF file (starts with {magic!r})")
        _check_btf(raw_path, what)
        opts = ffi.new("struct bpf_object_open_opts *")
        opts.sz = ffi.sizeof("struct bpf_object_open_opts")
        keep = ffi.new("char[]", name.encode()) if name else ffi.NULL
        opts.object_name = keep
        root = ffi.NULL
        if pin_root is not None:
            root_path = os.fspath(pin_root)
            require_bpffs(os.path.join(root_path, "x"), f"{what}: pin root")
            root = ffi.new("char[]", c_string(root_path, f"{what}: pin root"))
        opts.pin_root_path = root
        try:
            ptr = call_ptr(lambda: lib.bpf_object__open_file(raw_path, opts), what, program_lines=False)
        except BPFFileNotFoundError as exc:
            # The file is there (its first bytes were read above): libbpf's
            # ENOENT means a section or symbol it needs is missing.
            detail = str(exc.strerror).partition("\n")[2]
            raise BPFValueError(
                errno.ENOENT, f"{what}: the object is damaged: a part libbpf needs is missing\n{detail}".rstrip()
            ) from None
        try:
            return cls(ptr, path, max_map_bytes)
        except BaseException:
            lib.bpf_object__close(ptr)
            raise

    def load(self) -> BPFObject:
        """Create the maps and load the programs into the kernel; returns ``self``.

        A program the verifier refuses raises ``VerifierError`` with its log;
        the object is closed after a failed load (libbpf cannot retry it).
        """
        self._require_open()
        if self._loaded:
            raise BPFValueError(errno.EALREADY, f"object '{self._name}' is loaded already")
        self._check_map_bytes(f"load object '{self._name}'")
        for m in self._maps.values():
            m._before_load()
        with self._use(), log_capture() as cap:
            ret = lib.bpf_object__load(self._ptr)
        if ret:
            exc = self._load_error(-ret, cap)
            self.close()
            raise exc
        self._loaded = True
        for name, m in list(self._maps._items.items()):
            if m.autocreate:
                m._bind(lib.bpf_map__fd(m._spec))
            else:  # not in the kernel: nothing to hand out
                m.close()
                del self._maps._items[name]
        return self

    def _check_map_bytes(self, what: str) -> None:
        """Refuse maps that would ask the kernel for more than ``max_map_bytes``."""
        if self._max_map_bytes is None:
            return
        sizes = {name: m.declared_bytes for name, m in self._maps.items() if m.autocreate}
        total = sum(sizes.values())
        if total > self._max_map_bytes:
            largest = max(sizes, key=sizes.__getitem__)
            raise BPFValueError(
                errno.E2BIG,
                f"{what}: its maps declare {total} bytes, over max_map_bytes={self._max_map_bytes} "
                f"(largest: map '{largest}', {sizes[largest]} bytes)",
            )

    def _load_error(self, err: int, cap: log_capture) -> BPFError:
        import re  # here, not at import: start-up time

        text = "".join(cap.warnings)
        failed = re.search(_PROG_FAILED, text)
        logs = {name: body for name, body in re.findall(_PROG_LOG, text)}
        if failed or logs:
            prog = failed.group(1) if failed else next(iter(logs))
            lines = logs.get(prog, "").splitlines()
            # A probe's reason fits only a program the kernel itself refused;
            # libbpf's own refusals (no type, no target) say why themselves.
            refused = f"prog '{prog}': BPF program load failed" in text
            hint = verifier_hint(lines) or (self._refusal_reason(prog) if refused else None)
            if any(line.startswith("BPF program is too large") for line in lines):
                hint = "the verifier ran out of its budget of instructions to explore: bound or simplify the loops"
            # The verifier's log says why; the errno's generic meaning (E2BIG: a map full ...) would mislead.
            what = f"load program '{prog}' of '{self._name}'"
            base = error_for(err, what, hint=hint, generic_hint=not lines)
            base = with_details(base, _cause_lines(re.sub(_PROG_LOG, "", text), prog))
            if lines:
                return VerifierError(err, str(base), prog, lines)
            return base
        mismatch = re.search(_PIN_MISMATCH, text)
        if mismatch:
            return BPFValueError(
                err,
                f"load object '{self._name}': the map pinned at {mismatch.group(1)} does not match the object's "
                "declaration of it (type, key/value size, max_entries or flags); unpin it or use another pin root",
            )
        return with_details(error_for(err, f"load object '{self._name}'"), cap.warnings)

    def _refusal_reason(self, prog: str) -> str | None:
        """What the feature probes know about why the kernel refused ``prog``."""
        program = self.programs.get(prog)
        if program is None or program.type == ProgType.UNSPEC:
            return None
        from pybpf import features  # probes only when the kernel refused

        if program.type in (ProgType.TRACING, ProgType.LSM, ProgType.EXT):
            support = features.trampolines()  # first: a blocked trampoline fails the type probe too
            if not support:
                return support.reason
        support = features.program_type(program.type)
        return None if support else support.reason

    # -- access -----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The object's name (from the file name unless given to ``open``)."""
        return str(self._name)

    @property
    def path(self) -> str:
        """The file the object was opened from."""
        return self._path

    @property
    def loaded(self) -> bool:
        """Whether ``load()`` succeeded."""
        return self._loaded

    @property
    def maps(self) -> Mapping[str, Any]:
        """The object's maps by name (internal ones too, e.g. ``xdp_coun.rodata``):
        each a ``Map`` (keyed) or, for the keyless types, a ``KeylessMap``."""
        self._require_open()
        return self._maps

    @property
    def programs(self) -> Mapping[str, Program]:
        """The object's programs by function name."""
        self._require_open()
        return self._programs

    @property
    def rodata(self) -> GlobalData:
        """``const volatile`` globals (``.rodata``): set them before ``load()``."""
        return self._sections[".rodata"]

    @property
    def data(self) -> GlobalData:
        """Initialised globals (``.data``)."""
        return self._sections[".data"]

    @property
    def bss(self) -> GlobalData:
        """Zero-initialised globals (``.bss``)."""
        return self._sections[".bss"]

    def datasec(self, section: str) -> GlobalData:
        """The variables of any data section: ``".data"``, or a custom one
        such as ``".data.foo"`` (``int x SEC(".data.foo");``), or
        ``".rodata.foo"`` (set before load, as ``.rodata``)."""
        self._require_open()
        if section not in self._section_names:
            raise BPFKeyError(
                errno.ENOENT,
                f"object '{self._name}' has no data section {section!r} (has: {', '.join(self._section_names)})",
            )
        return self._sections[section]

    def _new_section(self, name: str) -> GlobalData:
        """The ``GlobalData`` of section ``name``, on its first use (``_Sections``)."""
        # Here, not at import: a script that reads no global never imports data.py.
        from pybpf._object.data import GlobalData

        with self._use():  # it reads the object's BTF, and close() unmaps what is made: close() waits
            made = GlobalData(self, name, self._internal.get(name), self._btf)
            # Nothing is mapped before its first read: a thread that loses a race drops its own.
            return self._sections.setdefault(name, made)

    @property
    def datasecs(self) -> list[str]:
        """The data sections that hold variables (``.rodata``, ``.data``, ``.bss``, custom ones)."""
        return [name for name in self._section_names if self._internal.get(name) is not None]

    def btf_type(self, name: str) -> Any:
        """The ctypes type built from the object's BTF for ``name``
        (``"struct event"``, or a bare type name); ``KeyError`` if absent.

        Use it to decode what programs send (``RingBuffer(..., event_type=...)``
        takes the name directly) or to build keys and values by hand.
        """
        self._require_open()
        if self._btf is None:
            raise BPFValueError(errno.ENOENT, f"object '{self._name}' has no BTF")
        return self._btf.ctype(self._btf.find(name))

    def attach(self) -> list[Link]:
        """Attach every loaded program whose section says where and whose
        ``autoattach`` is on, as a libbpf skeleton's ``attach()`` does;
        programs whose section names no target (``xdp``, a bare
        ``uprobe``, ``tc`` ...) are left for their ``attach_*`` call.  Returns
        the links (closing one detaches its program; closing the object
        detaches them all).  If one fails, those already made are detached."""
        self._require_open()
        if not self._loaded:
            raise BPFValueError(errno.EINVAL, f"object '{self._name}' is not loaded: call load() first")
        links: list[Link] = []
        try:
            for prog in self._programs.values():
                if prog.autoload and prog.autoattach and prog.attaches_by_section:
                    links.append(prog.attach())
        except BaseException:
            for link in links:
                link.close()
            raise
        return links

    def _track(self, link: Link) -> Link:
        self._links.add(link)
        return link

    def _untrack(self, link: Link) -> None:
        self._links.discard(link)

    # -- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Detach every open link made from this object's programs, close its
        maps and programs, and free the object.  Idempotent; waits for calls
        in flight on other threads."""
        super().close()

    def _before_release(self) -> None:
        for link in list(self._links):
            link.close()  # each close() takes itself out of _links
        for section in self._sections.values():
            section._unmap()
        for m in self._maps._items.values():
            m.close()

    def _after_release(self) -> None:
        self._ptr = None

    def __enter__(self) -> BPFObject:
        return self

    def __repr__(self) -> str:
        state = "closed" if self.closed else "loaded" if self._loaded else "opened"
        return f"<pybpf.BPFObject '{self._name}' {state}>"


def _cause_lines(text: str, prog: str) -> list[str]:
    """libbpf's warnings about why ``prog`` failed (the missing section
    type, the kernel function it could not find, the unset target), not
    those that only restate the errno."""
    import re  # here, not at import: start-up time

    about = f"prog '{prog}': "
    return [line for line in text.splitlines() if about in line and not re.search(_RESTATED, line)]


def _check_btf(path: bytes, what: str) -> None:
    """Refuse an object whose BTF libbpf's open or load would mishandle
    (``BTF.defect``): it reads the ``.BTF`` section before libbpf does."""
    btf = BTF.from_elf(path)
    if btf is None:
        return  # no BTF, or none libbpf can parse: its open says so
    try:
        defect = btf.defect()
    finally:
        btf.close()
    if defect:
        raise BPFValueError(errno.EINVAL, f"{what}: {defect}")


@public
def load(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    pin_root: str | os.PathLike[str] | None = None,
    max_map_bytes: int | None = None,
) -> BPFObject:
    """Open and load a BPF object in one step (closed again if load fails);
    the arguments are ``BPFObject.open``'s."""
    obj = BPFObject.open(path, name=name, pin_root=pin_root, max_map_bytes=max_map_bytes)
    try:
        return obj.load()
    except BaseException:
        obj.close()
        raise

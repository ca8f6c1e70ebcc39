"""pybpf's exceptions and the one funnel that turns libbpf returns into them.

Exception tree::

    OSError
    └── BPFError                      errno + what failed ("load program 'x': ...")
        ├── VerifierError             the verifier refused a program; .log holds its log
        ├── NotSupportedError         the kernel or libbpf lacks the feature
        ├── BPFPermissionError        also PermissionError   (EPERM, EACCES)
        ├── BPFFileNotFoundError      also FileNotFoundError (ENOENT, ENODEV, ENXIO)
        ├── BPFFileExistsError        also FileExistsError   (EEXIST)
        ├── BPFKeyError               also KeyError          (ENOENT on a map key)
        ├── BPFIndexError             also IndexError        (pop/peek of an empty queue or stack)
        └── BPFValueError             also ValueError        (EINVAL, E2BIG, bad input)

Only :func:`check` (int returns) and :func:`call_ptr` (pointer returns)
compare libbpf return codes; :data:`NOT_SUPPORTED` is the one set of errnos
that mean "the kernel has no such operation".
"""

from __future__ import annotations

import errno as _errno
import os
from collections.abc import Callable, Mapping

from pybpf._core.capabilities import CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, lacking
from pybpf._core.ffi import ffi, lib, log_capture
from pybpf._core.public import public

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import NoReturn, TypeVar

    P = TypeVar("P")

__all__ = [
    "BPFError",
    "BPFFileExistsError",
    "BPFFileNotFoundError",
    "BPFIndexError",
    "BPFKeyError",
    "BPFPermissionError",
    "BPFValueError",
    "NotSupportedError",
    "NOT_SUPPORTED",
    "VerifierError",
    "c_string",
    "c_text",
    "call_ptr",
    "check",
    "error_for",
    "raise_errno",
    "require_unsigned",
    "with_details",
]

ENOTSUPP = 524  # the kernel's internal "not supported", leaked to user space
#: The errnos with which the kernel says it has no such operation (for the
#: map type, the program type, the hook): ENOTSUPP leaks from inside it.
NOT_SUPPORTED = frozenset({ENOTSUPP, _errno.EOPNOTSUPP})
_LIBBPF_ERRNO_BASE = 4000


@public
class BPFError(OSError):
    """A libbpf call or bpf() syscall failed; ``errno`` says why."""

    def __init__(self, err: int, message: str) -> None:
        super().__init__(err, message)

    def __str__(self) -> str:
        return str(self.strerror)


@public
class NotSupportedError(BPFError):
    """The running kernel or the libbpf pybpf was built with lacks this feature."""


@public
class BPFPermissionError(BPFError, PermissionError):
    """The kernel refused for lack of privilege (CAP_BPF, CAP_SYS_ADMIN, ...)."""


@public
class BPFFileNotFoundError(BPFError, FileNotFoundError):
    """A file, pinned object, interface or kernel object does not exist."""


@public
class BPFFileExistsError(BPFError, FileExistsError):
    """The object or map entry exists already (e.g. an update with NOEXIST)."""


@public
class BPFKeyError(BPFError, KeyError):
    """The map has no entry for the key."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.strerror)


@public
class BPFIndexError(BPFError, IndexError):
    """Nothing to take: pop or peek on an empty QUEUE or STACK map (ENOENT)."""


@public
class BPFValueError(BPFError, ValueError):
    """The kernel or pybpf rejected an argument (EINVAL, E2BIG, wrong sizes)."""


@public
class VerifierError(BPFError):
    """The verifier refused a program.

    ``log`` holds every line of the verifier's log; ``str()`` shows the
    lines that name the instruction it refused: the end of the log, or, where
    the kernel explains its refusal after the trace (7.x: "Verification
    failed: ..."), the end of the trace and the first lines of the explanation.
    """

    def __init__(self, err: int, message: str, program: str, log: list[str]) -> None:
        super().__init__(err, message)
        self.program = program
        self.log = log

    @property
    def reason(self) -> str:
        """The verifier's one line of why: its explanation where it gives one
        (7.x), else the last line before its instruction counts."""
        lines = [line.strip() for line in self.log if line.strip()]
        for i, line in enumerate(lines):
            if line.startswith("Verification failed") and i + 1 < len(lines):
                return lines[i + 1]
        told = [line for line in lines if not line.startswith(("processed ", "verification time", "stack depth"))]
        return told[-1] if told else ""

    def __str__(self) -> str:
        lines = [line for line in self.log if line.strip()]
        explained = next((i for i, line in enumerate(lines) if line.startswith("Verification failed")), None)
        if explained is None:
            shown, where = lines[-6:], "last lines"
        else:  # the refused instruction ends the trace; then the verdict and its reason
            shown, where = lines[max(0, explained - 4) : explained + 3], "decisive lines"
        text = "\n".join(f"  {line}" for line in shown)
        return f"{self.strerror}\nverifier log ({where} of {len(lines)}):\n{text}" if text else str(self.strerror)


_CLASSES: dict[int, type[BPFError]] = {
    _errno.EPERM: BPFPermissionError,
    _errno.EACCES: BPFPermissionError,
    _errno.ENOENT: BPFFileNotFoundError,
    _errno.ENODEV: BPFFileNotFoundError,
    _errno.ENXIO: BPFFileNotFoundError,
    _errno.EEXIST: BPFFileExistsError,
    _errno.EINVAL: BPFValueError,
    _errno.E2BIG: BPFValueError,
    # libbpf's own: the ELF is malformed, of the other byte order, or relocates wrongly.
    _LIBBPF_ERRNO_BASE + 1: BPFValueError,
    _LIBBPF_ERRNO_BASE + 3: BPFValueError,
    _LIBBPF_ERRNO_BASE + 5: BPFValueError,
    **dict.fromkeys(NOT_SUPPORTED, NotSupportedError),
}

# libbpf's advice on EPERM; since 5.11 the kernel charges BPF memory to the
# memory cgroup and ignores RLIMIT_MEMLOCK, so it only misleads.
_ULIMIT_ADVICE = "try raising 'ulimit -l'"

_HINTS = {
    _errno.E2BIG: "E2BIG: key out of range, map full, or size too large",
}


def _strerror(err: int) -> str:
    if err == ENOTSUPP:  # kernel-internal: strerror() knows it only as "Unknown error 524"
        return "Operation not supported by the kernel for this object (ENOTSUPP)"
    if err >= _LIBBPF_ERRNO_BASE:
        buf = ffi.new("char[]", 256)
        lib.libbpf_strerror(err, buf, 256)
        return str(ffi.string(buf).decode())
    return os.strerror(err)


def _lacking_hint() -> str | None:
    """For an EPERM with no better explanation: the BPF capabilities this
    process lacks, if any (with all of them, something else refused)."""
    missing = lacking(CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)
    return f"this process lacks {', '.join(missing)}, or CAP_SYS_ADMIN in their place" if missing else None


def error_for(
    err: int, what: str, cls: type[BPFError] | None = None, *, hint: str | None = None, generic_hint: bool = True
) -> BPFError:
    """Build the exception for errno ``err`` raised by the action ``what``;
    ``hint`` (what a probe found) replaces the generic one for the errno,
    which ``generic_hint=False`` leaves out (where the errno means something
    else: the verifier's E2BIG is a program too complex)."""
    err = abs(err)
    message = f"{what}: {_strerror(err)}"
    if not hint and generic_hint:
        hint = _HINTS.get(err) or (_lacking_hint() if err == _errno.EPERM else None)
    if hint and hint not in message:
        message += f" ({hint})"
    return (cls or _CLASSES.get(err, BPFError))(err, message)


def raise_errno(err: int, what: str, cls: type[BPFError] | None = None) -> NoReturn:
    """Raise the exception for errno ``err`` raised by the action ``what``."""
    raise error_for(err, what, cls)


def check(ret: int, what: str, *, enoent: type[BPFError] | None = None, hints: Mapping[int, str] | None = None) -> int:
    """Return ``ret`` if it is not a libbpf error, else raise.

    libbpf 1.x returns ``-errno``; ``enoent`` names the class for ENOENT where
    it means something narrower (a missing map key); ``hints`` say what an
    errno means for this call.
    """
    if ret < 0:
        err = -ret
        hint = hints.get(err) if hints else None
        raise error_for(err, what, enoent if err == _errno.ENOENT else None, hint=hint)
    return ret


def c_text(ptr: object) -> str:
    """A C string libbpf hands out (a name from an ELF object or its BTF) as
    ``str``.  Bytes that are not UTF-8 come back as surrogate escapes, as
    ``os.fsdecode`` reads file names, so the name still finds its object and
    ``c_string`` turns it back into the same bytes."""
    return os.fsdecode(ffi.string(ptr)) if ptr != ffi.NULL else ""


def c_string(text: str | os.PathLike[str], what: str) -> bytes:
    """``text`` (a name or a path) as the bytes of a C string; a NUL byte in
    it would silently cut the string short in C, so it is a ``ValueError``."""
    raw = os.fsencode(text)
    if b"\0" in raw:
        raise BPFValueError(_errno.EINVAL, f"{what}: {os.fsdecode(raw)!r} contains a NUL byte, where C would cut it")
    return raw


def require_unsigned(action: str, what: str, value: int, bits: int) -> None:
    """A ``BPFValueError`` for a size, count or id that the kernel's unsigned
    field cannot hold (cffi would raise OverflowError, or wrap a negative)."""
    if not 0 <= value < 1 << bits:
        raise BPFValueError(_errno.ERANGE, f"{action}: {what} {value} is not a {bits}-bit unsigned number")


def call_ptr(
    call: Callable[[], P], what: str, *, hint: Callable[[], str | None] | None = None, program_lines: bool = True
) -> P:
    """Run a libbpf call that returns a pointer (open, attach, ...) and return
    the pointer; on NULL raise the error for its errno, named by ``what``.

    The error ends with libbpf's own last messages of the call (the section,
    the symbol, the missing BTF type it could not find), unless ``hint``
    (a probe of the kernel, run only on failure) explains the failure
    instead; ``program_lines=False`` leaves out the lines about a program.
    """
    with log_capture() as cap:
        ptr = call()
        err = ffi.errno
    if ptr != ffi.NULL:
        return ptr
    reason = hint() if hint is not None else None
    exc = error_for(err or _errno.EINVAL, what, hint=reason)
    raise with_details(exc, cap.warnings, program_lines=program_lines)


def with_details(exc: BPFError, warnings: list[str], *, program_lines: bool = True) -> BPFError:
    """Append libbpf's last warnings, which say what failed (the object's
    section, the symbol an attach could not find).  ``program_lines=False``
    leaves out the lines about a program."""
    lines = [
        m.strip()
        for m in warnings
        if m.strip() and (program_lines or not m.startswith("libbpf: prog")) and _ULIMIT_ADVICE not in m
    ]
    if lines:
        exc.strerror = f"{exc.strerror}\n" + "\n".join(lines[-3:])
    return exc

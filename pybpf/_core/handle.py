"""``OwnedHandle``: the one base of every kernel handle (maps, programs,
objects, links, event readers, stats sessions, AF_XDP sockets).

It carries every lifetime rule once:

* **Ownership.**  A handle releases what it owns (an fd, a libbpf pointer, an
  attachment) exactly once: ``close()`` is idempotent, ``with`` closes, and a
  handle garbage-collected while open is released by its finalizer with a
  ``ResourceWarning``.  A view (a map of an object) owns nothing of its own.
* **Threads.**  Each handle has a guard (``struct pybpf_guard``, in C).  Every
  call that uses the fd or pointer enters it; ``close()`` shuts it, so later
  calls fail with "closed", and waits for the calls in flight before
  releasing.  No call ever reaches an fd number the OS has reused or a freed
  libbpf pointer.
* **Fork.**  A forked child inherits the parent's handles but never releases
  what they own: its finalizers and atexit handlers do nothing, and an
  explicit ``close()`` in the child only closes the child's copies of fds.
  The parent's attachments, pins and maps stay as they are.
"""

from __future__ import annotations

import _thread
import errno
import os
import select
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pybpf._core.errors import BPFValueError
from pybpf._core.ffi import ffi, lib

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import Any, ClassVar

__all__ = ["BlockingHandle", "OwnedHandle", "close_fds", "current_generation", "in_creating_process"]

_generation = 0  # bumped in every forked child: handles remember theirs


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


def current_generation() -> int:
    """This process's generation: how many forks lie between it and the first."""
    return _generation


def in_creating_process(generation: int) -> bool:
    """Whether this is the process (not a forked child) of ``generation``."""
    return generation == _generation


Release = Callable[[], None]


def _finalize(release: Release | None, forget: Release | None, generation: int, what: str) -> None:
    if generation != _generation:  # a forked child: the parent's to release
        if forget is not None:
            forget()
        return
    if release is not None:
        release()  # first: the warning may be turned into an exception
    warnings.warn(f"pybpf: {what} was not closed; released it", ResourceWarning, stacklevel=2)


class OwnedHandle:
    """The base of every kernel handle; see the module docstring.

    Subclasses call :meth:`_init_handle` first, then :meth:`_own` once they
    hold what ``close()`` must release, and run every use of the fd or
    pointer inside :meth:`_use` (or a C helper that enters the guard)."""

    _kind: ClassVar[str] = "handle"

    _guard: Any
    _label: str
    _generation: int
    _finalizer: weakref.finalize[Any, Any] | None
    # Set on the instance only when they apply (see MapBase's slots).
    _poller: int | None = None  # the thread inside a poll (event readers): its callbacks may not close
    _closed_by: int | None = None  # the thread that closed it, for the messages

    def _init_handle(self, label: str, fd: int = -1) -> None:
        """Start the handle's life; ``label`` names it in messages ("'counts'")."""
        self._guard = ffi.new("struct pybpf_guard *")
        self._guard.fd = fd
        self._label = label
        self._generation = _generation
        self._finalizer = None

    def _own(self, release: Release, *, forget: Release | None = None) -> None:
        """Take ownership: ``close()`` (or the finalizer) runs ``release``,
        which must not refer to ``self``.  In a forked child ``forget`` runs
        instead (close the child's copy of an fd, nothing the kernel sees)."""
        self._finalizer = weakref.finalize(
            self, _finalize, release, forget, self._generation, f"{self._kind} {self._label}"
        )

    # -- state ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the handle was closed."""
        return bool(self._guard.closed)

    def _closed_error(self) -> BPFValueError:
        by = self._closed_by
        how = ": another thread closed it" if by is not None and by != _thread.get_ident() else ""
        return BPFValueError(errno.EBADF, f"{self._kind} {self._label} is closed{how}")

    def _require_open(self) -> None:
        if self._guard.closed:
            raise self._closed_error()

    @contextmanager
    def _use(self) -> Iterator[None]:
        """Run the block as a call in flight: ``close()`` waits for it, and
        it fails with "closed" if the handle is (being) closed."""
        guard = self._guard
        if lib.pybpf_guard_enter(guard):
            raise self._closed_error()
        try:
            yield
        finally:
            lib.pybpf_guard_leave(guard)

    # -- closing ----------------------------------------------------------------

    def close(self) -> None:
        """Release what the handle owns. Idempotent; waits for calls in flight
        on other threads, which then fail with "closed"."""
        guard = self._guard
        if guard.closed:
            return
        if self._poller is not None and self._poller == _thread.get_ident():
            raise RuntimeError(
                f"{self._kind} {self._label}: close() called from inside a callback of its own poll; "
                "close it after poll() returns"
            )
        self._closed_by = _thread.get_ident()
        if not lib.pybpf_guard_shut(guard):
            return
        here = _generation == self._generation
        self._wake()
        if here:  # a child's counts are the parent's threads', which it does not have
            lib.pybpf_guard_drain(guard)
        self._before_release()
        state = self._finalizer.detach() if self._finalizer is not None else None
        if state is not None:  # (self, _finalize, (release, forget, generation, what), {})
            release, forget = state[2][0], state[2][1]
            action = release if here else forget
            if action is not None:
                action()
        self._after_release()

    def _wake(self) -> None:
        """Wake calls in flight that block (a poll), so that close() need not wait."""

    def _before_release(self) -> None:
        """Close what depends on this handle (an object's links and maps)."""

    def _after_release(self) -> None:
        """Drop references that only an open handle needs."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def close_fds(*fds: int) -> None:
    """Close each fd (a release or forget action of a handle that holds several)."""
    for fd in fds:
        os.close(fd)


class BlockingHandle(OwnedHandle):
    """A handle whose calls may wait for the kernel (a poll, a receive):
    ``close()`` from another thread wakes them, so it never waits for a
    timeout that may never come.  The woken call returns; the next one
    fails with "closed"."""

    _wake_fds: tuple[int, int]

    def _init_wake(self) -> tuple[int, int]:
        """Make the wake-up pipe; the subclass's release and forget actions close both ends."""
        self._wake_fds = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        return self._wake_fds

    def _wait_readable(self, fd: int, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) until ``fd`` is
        readable (True) or the handle is closed (False).  The GIL is
        released meanwhile; a signal handler that raises ends the wait."""
        waiter = select.poll()
        waiter.register(fd, select.POLLIN)
        waiter.register(self._wake_fds[0], select.POLLIN)
        ms = None if timeout is None else max(0, int(timeout * 1000))
        ready = waiter.poll(ms)
        return not self._guard.closed and any(ready_fd == fd for ready_fd, _ in ready)

    def _wake(self) -> None:
        try:
            os.write(self._wake_fds[1], b"\0")
        except BlockingIOError:  # a wake-up is pending already
            pass

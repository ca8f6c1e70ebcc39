"""``@public``: a class or function of the public API shows as ``pybpf.X``
(``type()`` reprs, ``help()``, pickles, docs), not as the private module that
defines it.  Each marks itself where it is defined, because ``pybpf`` imports
its modules only when a name of theirs is first used."""

from __future__ import annotations

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    from typing import TypeVar

    _Public = TypeVar("_Public")


__all__ = ["public"]


def public(obj: _Public) -> _Public:
    """Mark ``obj`` as ``pybpf``'s own; returns it unchanged otherwise."""
    obj.__module__ = "pybpf"
    return obj

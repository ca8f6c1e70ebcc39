"""``@public``: a class or function of the public API shows as ``pybpf.X``
(``type()`` reprs, ``help()``, pickles, docs), not as the private module that
defines it.  Each marks itself where it is defined, because ``pybpf`` imports
its modules only when a name of theirs is first used."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["public"]

_Public = TypeVar("_Public")


def public(obj: _Public) -> _Public:
    """Mark ``obj`` as ``pybpf``'s own; returns it unchanged otherwise."""
    obj.__module__ = "pybpf"
    return obj

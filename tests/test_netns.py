"""pybpf.netns: throwaway namespaces, and entering them per thread."""

from __future__ import annotations

import os
import threading

import pytest

from pybpf.netns import VethPair, inside

pytestmark = pytest.mark.kernel


def _namespace() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_inside_returns_a_thread_to_its_own_namespace(veth: VethPair) -> None:
    """Nested, in a thread that is not the main one: each exit goes back to
    where this thread was, not to the process's namespace."""
    seen: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with inside(veth.ns_a):
                seen.append(_namespace())
                with inside(veth.ns_b):
                    seen.append(_namespace())
                seen.append(_namespace())
            seen.append(_namespace())
        except BaseException as e:  # reported by the test thread
            errors.append(e)

    main = _namespace()
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert not errors
    a, b, back_in_a, back = seen
    assert len({main, a, b}) == 3 and back_in_a == a and back == main
    assert _namespace() == main


def test_inside_a_missing_namespace_creates_nothing() -> None:
    with pytest.raises(OSError):
        with inside("pybpf-no-such-namespace"):
            pass
    assert not os.path.exists("/run/netns/pybpf-no-such-namespace")

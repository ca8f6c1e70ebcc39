"""Throwaway network namespaces, alone or joined by a veth pair (pyroute2), for tests and demos.

    with NetNamespace() as ns:
        with ns.inside():
            sock = socket.socket(...)              # a socket of ns
        ns.run(["ping", "-c1", "127.0.0.1"])        # a command in ns

    with VethPair() as pair:
        with pair.inside(pair.ns_a):
            link = prog.attach_xdp(pair.if_a)      # resolved in ns_a
        with pair.inside(pair.ns_b):
            sock = socket.socket(...)              # a socket of ns_b

Names are unique per instance; ``close()`` removes the namespaces (and with
them the veth pair and any XDP program attached to it).  Each is created
with a name under ``/run/netns``, as ``ip netns add`` does, so ``ip netns
exec`` and ``bpftool net`` find it meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from pyroute2 import NetNS
from pyroute2 import netns as _netns

from pybpf._core.handle import current_generation, in_creating_process

__all__ = ["NetNamespace", "VethPair", "inside", "remove_namespace"]


_THREAD_NETNS = "/proc/thread-self/ns/net"
_IFA_F_NODAD = 0x02  # linux/if_addr.h: an address usable at once, without duplicate detection


@contextlib.contextmanager
def inside(namespace: str | int) -> Iterator[None]:
    """Run the block in network namespace ``namespace`` (a name from ``ip
    netns``, or an open namespace fd), in this thread only, then return to
    the namespace this thread was in (not the process's).  An fd of the
    namespace the thread is in already changes nothing (no setns, so no
    CAP_SYS_ADMIN needed)."""
    back = os.open(_THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if isinstance(namespace, int) and _same_file(namespace, back):
            yield
            return
        _netns.setns(namespace, flags=0)  # flags=0: an existing namespace only
        try:
            yield
        finally:
            _netns.setns(back)
    finally:
        os.close(back)


def remove_namespace(name: str) -> None:
    """Remove the named network namespace (``ip netns delete``); gone already is fine."""
    with contextlib.suppress(FileNotFoundError):
        _netns.remove(name)


def _same_file(fd: int, other: int) -> bool:
    a, b = os.fstat(fd), os.fstat(other)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _unique_name(prefix: str, tag: str) -> str:
    """``<prefix>-p<pid>-<tag>``: the creator's pid in the name tells a leak
    guard on the same machine (pybpf.testing) whose namespace it is."""
    return f"{prefix}-p{os.getpid()}-{tag}"


class NetNamespace:
    """A new, empty network namespace (only ``lo``, brought up), named
    ``<prefix>-p<pid>-<random>``, removed by ``close()``."""

    def __init__(self, *, prefix: str = "pybpf") -> None:
        self.name = _unique_name(prefix, uuid.uuid4().hex[:8])
        self._created = False
        self._generation = current_generation()

    def create(self) -> NetNamespace:
        """Create the namespace and bring ``lo`` up; on failure remove it."""
        try:
            _netns.create(self.name)
            self._created = True
            with NetNS(self.name) as ipr:
                (lo,) = ipr.link_lookup(ifname="lo")
                ipr.link("set", index=lo, state="up")
        except BaseException:
            self.close()
            raise
        return self

    def inside(self) -> contextlib.AbstractContextManager[None]:
        """Run a block in the namespace (this thread only; see :func:`inside`)."""
        return inside(self.name)

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the namespace (``subprocess.Popen`` arguments)."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, *argv], **kwargs)

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` inside the namespace to its end (``subprocess.run`` arguments)."""
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], **kwargs)  # noqa: PLW1510 - the caller's check=

    def close(self) -> None:
        """Remove the namespace (what lives in it goes too). Idempotent; a
        forked child leaves it to the parent that made it."""
        if not in_creating_process(self._generation) or not self._created:
            return
        self._created = False
        remove_namespace(self.name)

    def __enter__(self) -> NetNamespace:
        return self.create()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NetNamespace({self.name!r})"


class VethPair:
    """Two new network namespaces, ``ns_a`` and ``ns_b``, joined by a veth pair.

    ``if_a`` (addresses ``addr_a`` and ``addr6_a``) lives in ``ns_a``,
    ``if_b`` (``addr_b``, ``addr6_b``) in ``ns_b``; both are up, with
    permanent neighbour entries for both families so that no ARP or
    neighbour discovery precedes the first packet, and IPv6 addresses that
    skip duplicate address detection (usable at once).
    """

    def __init__(
        self,
        *,
        prefix: str = "pybpf",
        addr_a: str = "10.201.0.1",
        addr_b: str = "10.201.0.2",
        addr6_a: str = "fd00:201::1",
        addr6_b: str = "fd00:201::2",
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        self.ns_a = _unique_name(prefix, f"{tag}-a")
        self.ns_b = _unique_name(prefix, f"{tag}-b")
        self.if_a = f"pb{tag}a"  # interface names hold at most 15 characters
        self.if_b = f"pb{tag}b"
        self.addr_a = addr_a
        self.addr_b = addr_b
        self.addr6_a = addr6_a
        self.addr6_b = addr6_b
        self.mac_a = ""
        self.mac_b = ""
        self._created: list[str] = []
        self._generation = current_generation()

    def create(self) -> VethPair:
        """Create the namespaces and the pair; on failure remove what was made."""
        try:
            for ns in (self.ns_a, self.ns_b):
                _netns.create(ns)
                self._created.append(ns)
            with NetNS(self.ns_a) as ipr:
                ipr.link("add", ifname=self.if_a, kind="veth", peer={"ifname": self.if_b, "net_ns_fd": self.ns_b})
            self.mac_a = self._configure(self.ns_a, self.if_a, self.addr_a, self.addr6_a)
            self.mac_b = self._configure(self.ns_b, self.if_b, self.addr_b, self.addr6_b)
            for peer in (self.addr_b, self.addr6_b):
                self._neighbour(self.ns_a, self.if_a, peer, self.mac_b)
            for peer in (self.addr_a, self.addr6_a):
                self._neighbour(self.ns_b, self.if_b, peer, self.mac_a)
        except BaseException:
            self.close()
            raise
        return self

    @staticmethod
    def _configure(ns: str, ifname: str, addr: str, addr6: str) -> str:
        with NetNS(ns) as ipr:
            (lo,) = ipr.link_lookup(ifname="lo")
            ipr.link("set", index=lo, state="up")
            (idx,) = ipr.link_lookup(ifname=ifname)
            ipr.addr("add", index=idx, address=addr, prefixlen=24)
            ipr.addr("add", index=idx, address=addr6, prefixlen=64, flags=_IFA_F_NODAD)
            ipr.link("set", index=idx, state="up")
            (link,) = ipr.get_links(idx)
            return str(link.get_attr("IFLA_ADDRESS"))

    @staticmethod
    def _neighbour(ns: str, ifname: str, addr: str, mac: str) -> None:
        with NetNS(ns) as ipr:
            (idx,) = ipr.link_lookup(ifname=ifname)
            ipr.neigh("add", dst=addr, lladdr=mac, ifindex=idx, state="permanent")

    def inside(self, ns: str) -> contextlib.AbstractContextManager[None]:
        """Run a block in one of the pair's namespaces (this thread only)."""
        return inside(ns)

    def xdp_attached(self, ns: str, ifname: str) -> bool:
        """Whether netlink reports an XDP program on the interface."""
        with NetNS(ns) as ipr:
            (idx,) = ipr.link_lookup(ifname=ifname)
            (link,) = ipr.get_links(idx)
            xdp: Any = link.get_attr("IFLA_XDP")
            if xdp is None:
                return False
            return bool(xdp.get_attr("IFLA_XDP_PROG_ID") or 0)

    def close(self) -> None:
        """Remove both namespaces (the veth pair goes with them). Idempotent.
        A forked child leaves them to the parent that made them."""
        if not in_creating_process(self._generation):
            return
        while self._created:
            remove_namespace(self._created.pop())

    def __enter__(self) -> VethPair:
        return self.create()

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""Attaching lightweight-tunnel programs: a route whose packets run the
program (LWT_IN / LWT_OUT / LWT_XMIT), or a seg6local route whose End.BPF
action does (LWT_SEG6LOCAL).  Routes are made with pyroute2 in the calling
thread's network namespace.

A mixin of ``Program``.
"""

from __future__ import annotations

import errno

from pybpf._attach.base import AttachBase
from pybpf._attach.link import Link
from pybpf._core.capabilities import net_admin_hints
from pybpf._core.enums import ProgType
from pybpf._core.errors import BPFValueError, error_for
from pybpf._core.interfaces import ifindex_of

TYPE_CHECKING = False  # typing's own, without importing typing: start-up time (issue 17)
if TYPE_CHECKING:
    import ipaddress
    from typing import Any

    from pybpf._attach.marks import Mark

__all__ = ["RouteAttach"]

_LWT_HOOKS = {ProgType.LWT_IN: "in", ProgType.LWT_OUT: "out", ProgType.LWT_XMIT: "xmit"}


class RouteAttach(AttachBase):
    """Program methods for route hooks (see ``Program``)."""

    def attach_route(
        self,
        destination: str,
        interface: str | int,
        *,
        gateway: str | None = None,
        headroom: int = 0,
        table: int | None = None,
    ) -> Link:
        """Add a route to ``destination`` (``"10.9.0.0/24"``) through
        ``interface`` (and ``gateway``) that runs this program on its
        packets: an ``lwt_in`` program when the route is looked up for a
        received packet, ``lwt_out`` when a local packet takes it, ``lwt_xmit``
        when it is transmitted (``headroom`` bytes reserved for headers the
        program pushes).  Closing the link removes the route.
        """
        prog_fd = self.fd
        hook = _LWT_HOOKS.get(self.type)
        if hook is None:
            raise BPFValueError(
                errno.EINVAL, f"program '{self._name}' is {self.type.name}, not an lwt_in/lwt_out/lwt_xmit program"
            )
        from pybpf._attach.marks import Mark  # what a netlink attachment needs, imported with pyroute2

        network = _network(destination)
        spec: dict[str, Any] = {"fd": prog_fd, "name": str(Mark.own(self._name))}
        if hook == "xmit" and headroom:
            spec["headroom"] = headroom
        route = {
            "dst": str(network),
            "oif": ifindex_of(interface),
            "encap": {"type": "bpf", hook: spec},
        }
        if gateway is not None:
            route["gateway"] = gateway
        if table is not None:
            route["table"] = table
        return self._route_link(route, network.version, f"route {network} (lwt {hook})")

    def attach_seg6local(self, sid: str, interface: str | int, *, table: int | None = None) -> Link:
        """Add a seg6local route for the segment ``sid`` (an IPv6 address)
        whose End.BPF action runs this ``lwt_seg6local`` program on each
        packet that reaches the segment (the kernel has already advanced the
        segment list).  The interface needs ``seg6_enabled``.  Closing the
        link removes the route; a killed process leaves it, marked, as
        ``attach_route`` does.
        """
        prog_fd = self.fd
        if self.type != ProgType.LWT_SEG6LOCAL:
            raise BPFValueError(errno.EINVAL, f"program '{self._name}' is {self.type.name}, not lwt_seg6local")
        import ipaddress

        from pybpf._attach.marks import Mark

        try:
            address = ipaddress.IPv6Address(sid)
        except ValueError as e:
            raise BPFValueError(errno.EINVAL, f"segment {sid!r}: {e}") from None
        route: dict[str, Any] = {
            "dst": f"{address}/128",
            "oif": ifindex_of(interface),
            "encap": {
                "type": "seg6local",
                "action": "End.BPF",
                "bpf": {"fd": prog_fd, "name": str(Mark.own(self._name))},
            },
        }
        if table is not None:
            route["table"] = table
        return self._route_link(route, 6, f"seg6local End.BPF at {address}")

    def _route_link(self, route: dict[str, Any], version: int, what: str) -> Link:
        import socket

        from pyroute2 import IPRoute
        from pyroute2.netlink.exceptions import NetlinkError

        route["family"] = socket.AF_INET if version == 4 else socket.AF_INET6
        action = f"attach program '{self._name}' to {what}"
        with IPRoute() as ipr:
            try:
                ipr.route("add", **route)
            except NetlinkError as e:
                if e.code != errno.EEXIST:
                    raise error_for(e.code, action, hint=net_admin_hints().get(e.code)) from None
                holder = _holder(ipr, route)
                if holder is None or holder.alive:
                    owner = holder.owner() if holder else "something other than pybpf"
                    raise error_for(e.code, action, hint=f"the route exists, held by {owner}") from None
                try:  # an exited pybpf process left it: take it over
                    ipr.route("replace", **route)
                except NetlinkError as e:
                    raise error_for(e.code, action) from None
        keys = {k: route[k] for k in ("dst", "oif", "family", "table") if k in route}
        gone = (errno.ESRCH, errno.ENODEV, errno.ENOENT)
        return self._netlink_link(lambda ipr: ipr.route("del", **keys), gone, what)


def _holder(ipr: Any, route: dict[str, Any]) -> Mark | None:
    """The pybpf mark on the route that is in the way of ``route``, if any."""
    import ipaddress

    from pybpf._attach.marks import marks_in

    network = ipaddress.ip_network(route["dst"])
    table = route.get("table", 254)  # RT_TABLE_MAIN
    for msg in ipr.get_routes(family=route["family"], table=table):
        if msg.get_attr("RTA_DST") == str(network.network_address) and msg["dst_len"] == network.prefixlen:
            marks = marks_in(msg)
            return marks[0] if marks else None
    return None


def _network(destination: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    import ipaddress  # on first use: 1-2 ms of import that loading never needs

    try:
        return ipaddress.ip_network(destination, strict=False)
    except ValueError as e:
        raise BPFValueError(errno.EINVAL, f"route destination {destination!r}: {e}") from None

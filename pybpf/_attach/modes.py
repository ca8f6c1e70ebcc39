"""The string choices of the attach methods, as ``Literal`` types for the
caller's annotations: ``attach_xdp(mode=...)``, ``attach_tc(direction=...,
mode=...)``, ``attach_sockmap(sockmap, kind)``.

A module of their own: building them imports ``typing``, which the way to a
loaded and attached program does not (start-up time, docs/benchmarks.md)."""

from __future__ import annotations

from typing import Literal

__all__ = ["SockmapKind", "TcDirection", "TcMode", "XdpMode"]

XdpMode = Literal["auto", "native", "generic"]
TcDirection = Literal["ingress", "egress"]
TcMode = Literal["auto", "tcx", "cls_bpf"]
SockmapKind = Literal["stream_parser", "stream_verdict", "skb_verdict", "msg_verdict"]

"""``pybpf export`` as a subprocess: its /metrics scraped over loopback and
parsed with prometheus_client's parser; configuration errors by line."""

from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import pybpf
from pybpf.netns import VethPair
from pybpf.tools.export.config import ConfigError, load_config
from pybpf.tools.traffic import send_icmp_echo, send_udp

from emulation import EMULATED
from tool_runs import run_tool, start_tool

TEST_CONFIG = """\
programs:
  maps:
    object: {object}
    attach: []
metrics:
  - name: test_flow_packets
    type: counter
    help: Packets per source
    map: flows
    value: packets
    labels:
      - {{name: addr, key: addr, decoder: inet}}
  - name: test_flow_bytes
    type: counter
    help: Bytes per protocol (entries summed)
    map: flows
    value: bytes
    labels:
      - {{name: proto, key: proto, decoder: static, table: {{6: tcp, 17: udp}}}}
  - name: test_per_cpu
    type: gauge
    map: per_cpu
    labels:
      - {{name: slot}}
  - name: test_latency_seconds
    type: histogram
    map: latency
    bucket: slot
    bucket_unit: 1.0e-6
    labels:
      - {{name: cpu, key: cpu}}
"""


class Exporter:
    """``pybpf export`` on a free loopback port, until stopped."""

    def __init__(self, *args: str, netns: str | None = None) -> None:
        self.proc = start_tool(["export", "--listen", "127.0.0.1:0", *args], netns=netns)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        match = re.search(r"serving \d+ metrics at (http://\S+)", line)
        if match is None:
            self.proc.kill()
            raise AssertionError(line + self.proc.communicate()[1])
        self.url = match.group(1)

    def scrape(self) -> dict[str, Any]:
        """The parsed metric families by name (bench/export_scrape.py times a scrape)."""
        with urllib.request.urlopen(self.url, timeout=120) as reply:
            text = reply.read().decode()
        return {family.name: family for family in text_string_to_metric_families(text)}

    def maps(self) -> dict[str, pybpf.Map]:
        """The exporter's own maps, opened by id."""
        held = [
            map_id
            for (kind, map_id), who in pybpf.holders().items()
            if kind == "map" and self.proc.pid in {h.pid for h in who}
        ]
        opened = [pybpf.Map.from_id(map_id) for map_id in held]
        return {m.name: m for m in opened}

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err
        return err


def _samples(family: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}


# VM guests under software emulation: a smaller map.
SERIES = 10_000 if EMULATED else 100_000


@pytest.mark.kernel
def test_a_scrape_of_many_series(tmp_path: Path, test_objects: dict[str, Path]) -> None:
    """Every series of a big map, with its value; entries sharing a label set
    summed; per-CPU values summed; a histogram's cumulative buckets."""
    config = tmp_path / "export.yaml"
    config.write_text(TEST_CONFIG.format(object=test_objects["export_maps"]))
    exporter = Exporter("--config", str(config))
    maps = exporter.maps()
    try:
        flows = maps["flows"]
        n = SERIES
        keys = []
        for i in range(n):
            key = flows.key_type(port=i % 65536, proto=6 if i % 2 else 17)
            key.addr[10:16] = [0xFF, 0xFF, 10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF]
            keys.append(key)
        assert flows.update_from((key, flows.value_type(packets=i, bytes=2 * i)) for i, key in enumerate(keys)) == n
        cpus = pybpf.possible_cpus()
        maps["per_cpu"][2] = list(range(1, cpus + 1))
        latency = maps["latency"]
        for slot, count in ((0, 1), (3, 5), (10, 2)):
            latency[latency.key_type(cpu=1, slot=slot)] = count

        families = exporter.scrape()
        flows_seen = _samples(families["test_flow_packets"])
        assert len(flows_seen) == n
        assert flows_seen[("test_flow_packets_total", (("addr", "10.0.0.7"),))] == 7
        last = f"10.{(n - 1) >> 16}.{((n - 1) >> 8) & 0xFF}.{(n - 1) & 0xFF}"
        assert flows_seen[("test_flow_packets_total", (("addr", last),))] == n - 1
        by_proto = _samples(families["test_flow_bytes"])
        odd = sum(2 * i for i in range(1, n, 2))
        assert by_proto[("test_flow_bytes_total", (("proto", "tcp"),))] == odd
        assert by_proto[("test_flow_bytes_total", (("proto", "udp"),))] == sum(2 * i for i in range(n)) - odd
        per_cpu = _samples(families["test_per_cpu"])
        assert per_cpu[("test_per_cpu", (("slot", "2"),))] == cpus * (cpus + 1) / 2  # per-CPU values summed
        assert per_cpu[("test_per_cpu", (("slot", "0"),))] == 0
        hist = _samples(families["test_latency_seconds"])
        bucket = "test_latency_seconds_bucket"
        assert hist[(bucket, (("cpu", "1"), ("le", "1e-06")))] == 1  # slot 0: 0..1 us
        assert hist[(bucket, (("cpu", "1"), ("le", "1.5e-05")))] == 6  # slot 3: 8..15 us, cumulative
        assert hist[(bucket, (("cpu", "1"), ("le", "0.002047")))] == 8  # slot 10: 1024..2047 us
        assert hist[(bucket, (("cpu", "1"), ("le", "+Inf")))] == 8
        assert hist[("test_latency_seconds_count", (("cpu", "1"),))] == 8
    finally:
        for m in maps.values():
            m.close()
        exporter.stop()


@pytest.mark.kernel
def test_the_shipped_xdp_config_counts_exactly(veth: VethPair) -> None:
    exporter = Exporter("--config", "xdp", "--var", f"interface={veth.if_b}", netns=veth.ns_b)
    try:
        assert veth.xdp_attached(veth.ns_b, veth.if_b)
        with veth.inside(veth.ns_a):
            send_udp(veth.addr_b, 17)
            send_icmp_echo(veth.addr_b, 5)
        time.sleep(0.2)
        with veth.inside(veth.ns_b):  # its loopback
            families = exporter.scrape()
    finally:
        err = exporter.stop()
    assert "everything detached" in err
    assert not veth.xdp_attached(veth.ns_b, veth.if_b)
    packets = _samples(families["pybpf_xdp_packets"])
    assert packets[("pybpf_xdp_packets_total", (("protocol", "ipv4/udp"),))] == 17
    assert packets[("pybpf_xdp_packets_total", (("protocol", "ipv4/icmp"),))] == 5
    sources = _samples(families["pybpf_xdp_source_packets"])
    assert sources[("pybpf_xdp_source_packets_total", (("source", veth.addr_a),))] == 22
    udp_bytes = _samples(families["pybpf_xdp_bytes"])[("pybpf_xdp_bytes_total", (("protocol", "ipv4/udp"),))]
    assert udp_bytes == 17 * (14 + 20 + 8 + 5)


@pytest.mark.kernel
def test_the_shipped_syscalls_config_names_syscalls() -> None:
    exporter = Exporter("--config", "syscalls")
    try:
        subprocess.run(["/bin/true"], check=True)
        families = exporter.scrape()
    finally:
        exporter.stop()
    names = {s.labels["syscall"] for s in families["pybpf_syscalls"].samples}
    assert {"execve", "read", "write"} & names and "exit_group" in names


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "programs: {a: {object: x}}\nmetrics:\n  - name: m\n    type: summary\n    map: m\n",
            ":4: metrics[0].type: 'summary'",
        ),
        ("programs: {a: {object: x}}\nmetrics:\n  - name: m\n    type: gauge\n", ":3: metrics[0]: 'map' is missing"),
        ("programs: {a: {object: x, colour: red}}\nmetrics: []\n", ":1: programs.a.colour: unknown field"),
        (
            "programs: {a: {object: x}}\nmetrics:\n  - {name: m, type: gauge, map: m,\n"
            "     labels: [{name: l, decoder: static}]}\n",
            ":4: metrics[0].labels[0]: 'table' is missing",
        ),
        (
            "programs: {a: {object: x}}\nmetrics:\n  - {name: m, type: histogram, map: m}\n",
            ":3: metrics[0].bucket: a histogram, and only a histogram",
        ),
        ("programs: {a: {object: x}}\nmetrics:\n  - {name: 'no good', type: gauge, map: m}\n", ":3: metrics[0].name"),
        ("programs: {a: {object: '${obj}'}}\nmetrics: []\n", ":1: programs.a.object: ${obj} is not set"),
        ("programs: [\n", ":2: not YAML"),
    ],
)
def test_config_errors_name_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(text, source="t.yaml")
    assert str(caught.value).startswith("t.yaml") and message in str(caught.value), str(caught.value)


@pytest.mark.host_only("configuration checks, against the objects' BTF")
def test_the_command_reports_a_config_error_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("programs: {a: {object: xdp_counter}}\nmetrics:\n  - {name: m, type: gauge}\n")
    done = run_tool(["export", "--config", str(config)])
    assert done.returncode == 1
    assert done.stderr == f"pybpf export: {config}:3: metrics[0]: 'map' is missing\n"
    for shipped in ("xdp", "syscalls"):
        assert run_tool(["export", "--config", shipped, "--var", "interface=lo", "--check"]).returncode == 0


@pytest.mark.kernel
@pytest.mark.host_only("configuration checks, against the objects' BTF")
def test_a_metric_naming_a_missing_map_or_field(tmp_path: Path, test_objects: dict[str, Path]) -> None:
    config = tmp_path / "bad.yaml"
    base = f"programs: {{a: {{object: {test_objects['export_maps']}, attach: []}}}}\nmetrics:\n"
    config.write_text(base + "  - {name: m, type: gauge, map: nope}\n")
    done = run_tool(["export", "--config", str(config)])
    assert done.returncode == 1 and ":3: map: 'a' has no map 'nope'" in done.stderr
    config.write_text(base + "  - {name: m, type: gauge, map: flows, value: packetz}\n")
    done = run_tool(["export", "--config", str(config)])
    assert done.returncode == 1 and ":3: value: map 'flows' has no field 'packetz'" in done.stderr


SYSCALL_0 = {"x86_64": "read", "aarch64": "io_setup", "riscv64": "io_setup"}  # the ABI's syscall number 0

DECODER_CONFIG = """\
programs:
  maps: {{object: {object}, attach: []}}
metrics:
  - name: test_labelled
    type: gauge
    map: labelled
    labels:
      - {{name: name, key: name, decoder: string}}
      - {{name: function, key: function, decoder: ksym}}
      - {{name: cgroup, key: cgroup, decoder: cgroup}}
      - {{name: v4, key: v4, decoder: ipv4}}
      - {{name: v6, key: v6, decoder: ipv6}}
      - {{name: syscall, key: nr, decoder: syscall}}
"""


def _kernel_function() -> tuple[str, int]:
    """A kernel text symbol and an address inside it, from kallsyms."""
    with open("/proc/kallsyms", encoding="utf-8") as f:
        for line in f:
            address, kind, name = line.split()[:3]
            if name == "do_sys_openat2" and kind in "tT" and int(address, 16):
                return name, int(address, 16) + 4
    pytest.fail("kallsyms shows no address for do_sys_openat2 (kptr_restrict?)")


@pytest.mark.kernel
def test_every_label_decoder_on_real_kernel_data(tmp_path: Path, test_objects: dict[str, Path]) -> None:
    """A kernel address names its function, a cgroup id its path, addresses
    and syscall numbers their text: each decoded from the key a map holds."""
    from pybpf._core.mounts import cgroup2_root

    root = cgroup2_root()
    assert root is not None
    cgroup = Path(root) / f"pybpf-export-{os.getpid()}"
    cgroup.mkdir()
    try:
        function, address = _kernel_function()
        config = tmp_path / "decoders.yaml"
        config.write_text(DECODER_CONFIG.format(object=test_objects["export_maps"]))
        exporter = Exporter("--config", str(config))
        maps = exporter.maps()
        try:
            labelled = maps["labelled"]
            key = labelled.key_type(name=b"eth-uplink", function=address, cgroup=cgroup.stat().st_ino, nr=0)
            key.v4 = int.from_bytes(socket.inet_aton("192.0.2.7"), "little")  # network order in memory
            key.v6[:] = list(socket.inet_pton(socket.AF_INET6, "2001:db8::42"))
            labelled[key] = 5
            [sample] = exporter.scrape()["test_labelled"].samples
        finally:
            for m in maps.values():
                m.close()
            exporter.stop()
    finally:
        cgroup.rmdir()
    assert sample.value == 5
    assert sample.labels == {
        "name": "eth-uplink",
        "function": function,
        "cgroup": f"/{cgroup.name}",
        "v4": "192.0.2.7",
        "v6": "2001:db8::42",
        "syscall": {"x86_64": "read", "aarch64": "io_setup", "riscv64": "io_setup"}.get(
            platform.machine(), "syscall_0"
        ),
    }


@pytest.mark.kernel
@pytest.mark.host_only("configuration checks, against the objects' BTF")
def test_a_config_naming_a_missing_variable_or_program(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("programs:\n  s:\n    object: syscount\n    rodata: {target_pdi: 1}\nmetrics: []\n")
    done = run_tool(["export", "--config", str(config)])
    assert done.returncode == 1 and ":3: programs.s.rodata: no variable 'target_pdi'" in done.stderr
    config.write_text(
        "programs:\n  x:\n    object: xdp_counter\n    attach: [{program: xdp_cnt, xdp: lo}]\nmetrics: []\n"
    )
    done = run_tool(["export", "--config", str(config)])
    assert done.returncode == 1 and ":3: programs.x.attach: no program 'xdp_cnt'" in done.stderr

"""Which tests prove each program type: the shipped program that calls
bpf_map_lookup_elem, the tests that attach it for real and trigger it, and
the tests of its BPF_PROG_TEST_RUN path.

`make program-types` (tests/vm/run.py --program-types) runs these tests on
the host and in every VM kernel and writes docs/program-types.md from what
they did: a type counts as attached and triggered on a kernel when its
tests passed there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One program type's proof."""

    programs: str
    """The shipped object/program(s)."""
    attach: str
    """How it is attached."""
    tests: tuple[str, ...]
    """Tests that attach it and trigger it for real (pytest node ids; a prefix matches parametrized ones)."""
    test_run: tuple[str, ...] = ()
    """Tests of its BPF_PROG_TEST_RUN path, where the kernel has one for the type."""


T = "tests/"
TYPES: dict[str, Row] = {
    "CGROUP_DEVICE": Row(
        "cgroup_hooks/check_device",
        "attach_cgroup",
        (T + "test_cgroup_hooks.py::test_device_program_refuses_the_device_the_map_names",),
    ),
    "CGROUP_SKB": Row(
        "cgroup_hooks/check_egress",
        "attach_cgroup",
        (T + "test_cgroup_hooks.py::test_skb_egress_counts_and_drops_udp_by_port",),
        (T + "test_cgroup_hooks.py::test_skb_program_test_run",),
    ),
    "CGROUP_SOCK": Row(
        "cgroup_hooks/check_socket",
        "attach_cgroup(kind='sock_create')",
        (T + "test_cgroup_hooks.py::test_sock_create_refuses_the_socket_type_the_map_names",),
    ),
    "CGROUP_SOCKOPT": Row(
        "cgroup_hooks/check_setsockopt",
        "attach_cgroup",
        (T + "test_cgroup_hooks.py::test_setsockopt_refuses_the_option_the_map_names",),
    ),
    "CGROUP_SOCK_ADDR": Row(
        "cgroup_hooks/rewrite_connect",
        "attach_cgroup",
        (T + "test_cgroup_hooks.py::test_connect4_rewrites_the_port_the_map_names",),
    ),
    "CGROUP_SYSCTL": Row(
        "cgroup_hooks/check_sysctl",
        "attach_cgroup",
        (T + "test_cgroup_hooks.py::test_sysctl_program_refuses_the_sysctl_the_map_names",),
    ),
    "FLOW_DISSECTOR": Row(
        "flow_dissector/dissect_ipv4",
        "attach_netns",
        (T + "test_flow_dissector.py::test_every_received_packet_is_dissected_with_rps",),
        (T + "test_flow_dissector.py::test_test_run_returns_the_flow_keys",),
    ),
    "KPROBE": Row(
        "func_hooks/openat2_kprobe, openat2_kretprobe; user_hooks/on_call, on_return",
        "attach_kprobe, attach_uprobe",
        (
            T + "test_func_hooks.py::test_kprobe_and_kretprobe_count_a_childs_opens",
            T + "test_uprobes.py::test_uprobe_and_uretprobe_see_every_call_by_symbol",
        ),
    ),
    "LIRC_MODE2": Row(
        "lirc_mode2/count_samples",
        "attach_lirc",
        (T + "test_lirc.py::test_lirc_mode2_counts_the_samples_the_device_receives",),
    ),
    "LSM": Row(
        "func_hooks/refuse_socket",
        "attach_lsm",
        (T + "test_func_hooks.py::test_lsm_refuses_the_socket_family_the_map_names",),
    ),
    "LWT_IN": Row(
        "lwt_hooks/count_in",
        "attach_route",
        (T + "test_lwt_hooks.py::test_in_counts_what_the_namespace_forwards",),
        (T + "test_lwt_hooks.py::test_lwt_test_run",),
    ),
    "LWT_OUT": Row(
        "lwt_hooks/count_out",
        "attach_route",
        (T + "test_lwt_hooks.py::test_out_and_xmit_count_what_takes_the_route[count_out",),
        (T + "test_lwt_hooks.py::test_lwt_test_run",),
    ),
    "LWT_SEG6LOCAL": Row(
        "lwt_hooks/count_seg6local",
        "attach_seg6local",
        (T + "test_lwt_hooks.py::test_seg6local_end_bpf_sees_the_srv6_packet",),
    ),
    "LWT_XMIT": Row(
        "lwt_hooks/count_xmit",
        "attach_route",
        (T + "test_lwt_hooks.py::test_out_and_xmit_count_what_takes_the_route[count_xmit",),
        (T + "test_lwt_hooks.py::test_lwt_test_run",),
    ),
    "NETFILTER": Row(
        "netfilter_hook/filter_by_mark",
        "attach_netfilter",
        (T + "test_netfilter.py::test_local_out_counts_and_drops_by_mark",),
    ),
    "PERF_EVENT": Row(
        "perf_samples/count_faults",
        "attach_perf_event",
        (T + "test_perf_events.py::test_page_faults_of_a_process_sampled_at_every_fault",),
    ),
    "RAW_TRACEPOINT": Row(
        "raw_tracepoints/count_syscall",
        "attach_raw_tracepoint",
        (T + "test_raw_tracepoints.py::test_sys_enter_counts_a_childs_syscalls",),
        (T + "test_raw_tracepoints.py::test_raw_tracepoint_test_run_with_its_arguments",),
    ),
    "RAW_TRACEPOINT_WRITABLE": Row(
        "raw_tracepoints/watch_nbd",
        "attach_raw_tracepoint",
        (T + "test_raw_tracepoints.py::test_writable_nbd_tracepoint_sees_the_request_header",),
    ),
    "SCHED_ACT": Row(
        "tc_hooks/act_on_udp",
        "attach_tc_action",
        (T + "test_tc_hooks.py::test_action_counts_and_drops_by_port",),
        (T + "test_tc_hooks.py::test_classifier_and_action_test_run[act_on_udp",),
    ),
    "SCHED_CLS": Row(
        "tc_hooks/classify_udp",
        "attach_tc",
        (T + "test_tc_hooks.py::test_classifier_counts_and_drops_by_port",),
        (T + "test_tc_hooks.py::test_classifier_and_action_test_run[classify_udp",),
    ),
    "SK_LOOKUP": Row(
        "sk_steer/steer",
        "attach_netns",
        (T + "test_sockmap.py::test_tcp_connection_steered_to_sockmap_listener",),
        (T + "test_sockmap.py::test_sk_lookup_test_run",),
    ),
    "SK_MSG": Row(
        "socket_hooks/msg_verdict",
        "attach_sockmap",
        (T + "test_socket_hooks.py::test_msg_verdict_counts_and_refuses_sends",),
    ),
    "SK_REUSEPORT": Row(
        "socket_hooks/select_by_first_byte",
        "attach_reuseport",
        (T + "test_socket_hooks.py::test_reuseport_selector_steers_by_first_byte",),
    ),
    "SK_SKB": Row(
        "socket_hooks/stream_verdict",
        "attach_sockmap",
        (T + "test_socket_hooks.py::test_stream_verdict_sees_received_bytes",),
    ),
    "SOCKET_FILTER": Row(
        "socket_hooks/filter_by_length",
        "attach_socket",
        (T + "test_socket_hooks.py::test_socket_filter_keeps_and_drops_by_length",),
        (T + "test_socket_hooks.py::test_socket_filter_test_run",),
    ),
    "SOCK_OPS": Row(
        "cgroup_hooks/count_tcp_ops",
        "attach_cgroup",
        (T + "test_cgroup_hooks.py::test_sock_ops_sees_each_connection_of_the_cgroup",),
    ),
    "STRUCT_OPS": Row(
        "tcp_cc/pybpf_cc",
        "StructOpsMap.attach_struct_ops",
        (T + "test_struct_ops.py::test_congestion_control_serves_the_connections_that_choose_it",),
    ),
    "SYSCALL": Row(
        "syscall_prog/add_to_counter",
        "none: run with test_run",
        (T + "test_syscall_programs.py::test_syscall_program_reads_and_updates_a_map_through_its_context",),
        (T + "test_syscall_programs.py::test_syscall_program_reads_and_updates_a_map_through_its_context",),
    ),
    "TRACEPOINT": Row(
        "syscount/count_syscalls",
        "attach_tracepoint",
        (T + "test_syscount.py::test_target_pid_counts_exactly_k",),
    ),
    "TRACING": Row(
        "func_hooks/openat2_entry, openat2_exit, deny_getsid; task_iter/list_watched",
        "attach_trace, attach_iter",
        (
            T + "test_func_hooks.py::test_fentry_fexit_count_a_childs_opens_and_read_the_return_value",
            T + "test_func_hooks.py::test_fmod_ret_answers_getsid_with_the_errno_from_the_map",
            T + "test_iterators.py::test_task_iterator_lists_the_watched_processes",
        ),
    ),
    "XDP": Row(
        "xdp_counter/xdp_count",
        "attach_xdp",
        (T + "test_xdp_counter.py::test_exact_counts_on_veth",),
        (T + "test_object.py::test_test_run_xdp_counts_a_packet",),
    ),
}


def modules() -> list[str]:
    """The test modules the table draws on."""
    return sorted({nodeid.split("::")[0] for row in TYPES.values() for nodeid in (*row.tests, *row.test_run)})


if __name__ == "__main__":  # make program-types: the modules to run, one line
    print(" ".join(modules()))

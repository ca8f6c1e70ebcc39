// SPDX-License-Identifier: GPL-2.0
/* A TCP congestion control written as STRUCT_OPS programs: Reno through the
 * kernel's own kfuncs, plus a count of every callback in `calls`, which
 * Python reads.  Register it with Map.attach_struct_ops() on `pybpf_cc`; a
 * socket then selects it with setsockopt(TCP_CONGESTION, name).  The name is
 * kernel-wide: rename a copy before load (Map.struct_ops, libbpf 1.4+). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

enum { CALL_INIT, CALL_SSTHRESH, CALL_CONG_AVOID, CALL_UNDO_CWND, CALL_RELEASE, NR_CALLS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_CALLS);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

static __always_inline void count(__u32 call)
{
	__u64 *n = bpf_map_lookup_elem(&calls, &call);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("struct_ops")
void BPF_PROG(cc_init, struct sock *sk)
{
	count(CALL_INIT);
}

SEC("struct_ops")
void BPF_PROG(cc_release, struct sock *sk)
{
	count(CALL_RELEASE);
}

SEC("struct_ops")
__u32 BPF_PROG(cc_ssthresh, struct sock *sk)
{
	count(CALL_SSTHRESH);
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops")
void BPF_PROG(cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	count(CALL_CONG_AVOID);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops")
__u32 BPF_PROG(cc_undo_cwnd, struct sock *sk)
{
	count(CALL_UNDO_CWND);
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops")
struct tcp_congestion_ops pybpf_cc = {
	.init = (void *)cc_init,
	.release = (void *)cc_release,
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "pybpf_cc",
};

char LICENSE[] SEC("license") = "GPL";

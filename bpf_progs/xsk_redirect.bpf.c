// SPDX-License-Identifier: GPL-2.0
/* AF_XDP delivery: every frame received on a queue that has a socket in
 * `xsks` goes to that socket; frames of other queues pass to the stack.
 *
 * The program checks the slot with bpf_map_lookup_elem before redirecting, so
 * it can count both outcomes in `xsk_stats` (per CPU). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

enum xsk_outcome {
	XSK_REDIRECTED, /* a socket was in the queue's slot */
	XSK_NO_SOCKET,  /* the slot was empty: XDP_PASS */
	XSK_OUTCOMES,
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XSK_OUTCOMES);
	__type(key, __u32);
	__type(value, __u64);
} xsk_stats SEC(".maps");

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
	__u32 queue = ctx->rx_queue_index;
	__u32 outcome = XSK_NO_SOCKET;
	__u64 *n;
	long action = XDP_PASS;

	if (bpf_map_lookup_elem(&xsks, &queue)) {
		outcome = XSK_REDIRECTED;
		action = bpf_redirect_map(&xsks, queue, XDP_PASS);
	}
	n = bpf_map_lookup_elem(&xsk_stats, &outcome);
	if (n)
		*n += 1;
	return action;
}

char LICENSE[] SEC("license") = "GPL";

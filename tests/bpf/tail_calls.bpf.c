// SPDX-License-Identifier: GPL-2.0
/* PROG_ARRAY: `dispatch` tail-calls jump_table[first packet byte]; an empty
 * slot falls through to XDP_TX, so every outcome has its own return value. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} jump_table SEC(".maps");

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	__u8 *data = (void *)(long)ctx->data;

	if ((void *)(data + 1) > (void *)(long)ctx->data_end)
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jump_table, *data);
	return XDP_TX; /* empty slot */
}

SEC("xdp")
int to_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int to_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

/* A different program type: the kernel refuses it in an XDP jump table. */
SEC("socket")
int not_xdp(struct __sk_buff *skb)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* A netfilter hook (SEC("netfilter"), Program.attach_netfilter, 6.4+): looks
 * each packet's mark (SO_MARK, or what iptables set) up in a map Python
 * fills, counts it there and drops it if the entry says so. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define NF_DROP 0
#define NF_ACCEPT 1

struct mark_rule {
	__u64 packets;
	__u64 bytes;
	__u32 drop;  /* from Python: 1 to drop what carries the mark */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);  /* skb->mark */
	__type(value, struct mark_rule);
} marks SEC(".maps");

SEC("netfilter")
int filter_by_mark(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;
	__u32 mark = skb->mark;
	struct mark_rule *r = bpf_map_lookup_elem(&marks, &mark);

	if (!r)
		return NF_ACCEPT;
	__sync_fetch_and_add(&r->packets, 1);
	__sync_fetch_and_add(&r->bytes, skb->len);
	return r->drop ? NF_DROP : NF_ACCEPT;
}

char LICENSE[] SEC("license") = "GPL";

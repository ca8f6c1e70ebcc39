// SPDX-License-Identifier: GPL-2.0
/* XDP source-prefix filter: the packet's source address is looked up in an
 * LPM trie (one for IPv4, one for IPv6); the longest matching prefix's rule
 * says pass or drop and counts the hit.  Unmatched packets pass. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

enum rule_action {
	RULE_PASS = 0,
	RULE_DROP = 1,
};

struct rule {
	__u32 action; /* enum rule_action */
	__u32 reserved;
	__u64 hits; /* packets this prefix matched, all CPUs */
};

struct lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4);
	__type(value, struct rule);
} rules_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6);
	__type(value, struct rule);
} rules_v6 SEC(".maps");

/* Verdicts: [0] passed unmatched, [1] passed by a rule, [2] dropped by a rule. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

static __always_inline int decide(struct rule *r)
{
	__u32 slot = r ? (r->action == RULE_DROP ? 2 : 1) : 0;
	__u64 *count = bpf_map_lookup_elem(&verdicts, &slot);

	if (count)
		(*count)++;
	if (!r)
		return XDP_PASS;
	__sync_fetch_and_add(&r->hits, 1);
	return r->action == RULE_DROP ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		struct lpm_v4 key = { .prefixlen = 32 };

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		__builtin_memcpy(key.addr, &ip->saddr, 4);
		return decide(bpf_map_lookup_elem(&rules_v4, &key));
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		struct lpm_v6 key = { .prefixlen = 128 };

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		__builtin_memcpy(key.addr, &ip6->saddr, 16);
		return decide(bpf_map_lookup_elem(&rules_v6, &key));
	}
	return decide(NULL);
}

char LICENSE[] SEC("license") = "GPL";

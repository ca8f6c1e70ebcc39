// SPDX-License-Identifier: GPL-2.0
/* XDP packet counter: packets and bytes per protocol (per CPU) and per source
 * address.  Every packet is passed on (XDP_PASS). */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_ICMPV6 58

/* Index into proto_stats; Python's pybpf.tools.xdp_counter names them. */
enum proto_slot {
	SLOT_IPV4_TCP,
	SLOT_IPV4_UDP,
	SLOT_IPV4_ICMP,
	SLOT_IPV4_OTHER,
	SLOT_IPV6_TCP,
	SLOT_IPV6_UDP,
	SLOT_IPV6_ICMP,
	SLOT_IPV6_OTHER,
	SLOT_NON_IP,
	SLOT_COUNT,
};

struct counter {
	__u64 packets;
	__u64 bytes;
};

/* The source address, IPv4 as an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
struct src_key {
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLOT_COUNT);
	__type(key, __u32);
	__type(value, struct counter);
} proto_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct src_key);
	__type(value, struct counter);
} src_stats SEC(".maps");

static __always_inline void count_proto(__u32 slot, __u64 len)
{
	struct counter *c = bpf_map_lookup_elem(&proto_stats, &slot);

	if (c) { /* per-CPU: no other CPU writes this slot */
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void count_source(struct src_key *key, __u64 len)
{
	struct counter *c = bpf_map_lookup_elem(&src_stats, key);

	if (!c) {
		struct counter zero = {};

		/* NOEXIST: another CPU may have inserted it since the lookup */
		bpf_map_update_elem(&src_stats, key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&src_stats, key);
		if (!c)
			return;
	}
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, len);
}

static __always_inline __u32 l4_slot(__u8 proto, __u32 base, __u8 icmp)
{
	if (proto == IPPROTO_TCP)
		return base;
	if (proto == IPPROTO_UDP)
		return base + 1;
	if (proto == icmp)
		return base + 2;
	return base + 3;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct ethhdr *eth = data;
	struct src_key key = {};
	__u16 proto;
	void *l3;

	if ((void *)(eth + 1) > data_end) {
		count_proto(SLOT_NON_IP, len);
		return XDP_PASS;
	}
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end) {
			count_proto(SLOT_NON_IP, len);
			return XDP_PASS;
		}
		proto = vlan->h_vlan_encapsulated_proto;
		l3 = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > data_end) {
			count_proto(SLOT_IPV4_OTHER, len);
			return XDP_PASS;
		}
		count_proto(l4_slot(ip->protocol, SLOT_IPV4_TCP, IPPROTO_ICMP), len);
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &ip->saddr, 4);
		count_source(&key, len);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end) {
			count_proto(SLOT_IPV6_OTHER, len);
			return XDP_PASS;
		}
		count_proto(l4_slot(ip6->nexthdr, SLOT_IPV6_TCP, IPPROTO_ICMPV6), len);
		__builtin_memcpy(key.addr, &ip6->saddr, 16);
		count_source(&key, len);
	} else {
		count_proto(SLOT_NON_IP, len);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

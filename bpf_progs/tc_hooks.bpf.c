// SPDX-License-Identifier: GPL-2.0
/* tc hooks: a classifier (SCHED_CLS, Program.attach_tc) and an action
 * (SCHED_ACT, Program.attach_tc_action) that look UDP/IPv4 packets up by
 * destination port in a map Python fills, count them there and drop those
 * the entry says to.  Everything else goes on (TC_ACT_UNSPEC / TCX_NEXT). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define IPPROTO_UDP 17
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2

struct port_rule {
	__u64 packets;
	__u64 bytes;
	__u32 drop;  /* from Python: 1 to drop what matches */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u16);  /* UDP destination port */
	__type(value, struct port_rule);
} udp_ports SEC(".maps");

/* tc programs see the packet from its Ethernet header. */
static __always_inline int verdict(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	struct port_rule *rule;
	__u16 port;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP)
		return TC_ACT_UNSPEC;
	if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr) + ip.ihl * 4, &udp, sizeof(udp)))
		return TC_ACT_UNSPEC;
	port = bpf_ntohs(udp.dest);
	rule = bpf_map_lookup_elem(&udp_ports, &port);
	if (!rule)
		return TC_ACT_UNSPEC;
	__sync_fetch_and_add(&rule->packets, 1);
	__sync_fetch_and_add(&rule->bytes, skb->len);
	return rule->drop ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

SEC("tc")
int classify_udp(struct __sk_buff *skb)
{
	return verdict(skb);
}

SEC("action")
int act_on_udp(struct __sk_buff *skb)
{
	return verdict(skb);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* A flow dissector (SEC("flow_dissector"), Program.attach_netns): parses
 * IPv4 with its UDP/TCP ports for the kernel's flow hashing in one network
 * namespace, and counts what it dissected by IP protocol in a map Python
 * reads; a protocol whose entry says `refuse` is reported undissectable. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define BPF_OK 0
#define BPF_DROP 2

struct proto_count {
	__u64 packets;
	__u32 refuse;  /* from Python: 1 to report these undissectable */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);  /* IP protocol */
	__type(value, struct proto_count);
} dissected SEC(".maps");

/* Copy `len` bytes at `off`: straight from the packet where it lies in the
 * linear part, as test_run's packet always does (it has no skb to load
 * from), else through bpf_skb_load_bytes. */
static __always_inline int load(struct __sk_buff *skb, __u32 off, void *buf, __u32 len)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	void *at;

	if (off > 256)
		return bpf_skb_load_bytes(skb, off, buf, len);
	at = data + off;
	if (at + len > end)
		return bpf_skb_load_bytes(skb, off, buf, len);
	__builtin_memcpy(buf, at, len);
	return 0;
}

SEC("flow_dissector")
int dissect_ipv4(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	struct proto_count *count;
	struct iphdr ip;
	__u16 ports[2];
	__u32 proto;

	if (keys->n_proto != bpf_htons(ETH_P_IP))
		return BPF_DROP;
	if (load(skb, keys->nhoff, &ip, sizeof(ip)) || ip.ihl < 5)
		return BPF_DROP;
	keys->addr_proto = ETH_P_IP;
	keys->ipv4_src = ip.saddr;
	keys->ipv4_dst = ip.daddr;
	keys->ip_proto = ip.protocol;
	keys->thoff = keys->nhoff + ip.ihl * 4;
	if ((ip.protocol == IPPROTO_UDP || ip.protocol == IPPROTO_TCP) &&
	    !load(skb, keys->thoff, ports, sizeof(ports))) {
		keys->sport = ports[0];
		keys->dport = ports[1];
	}
	proto = ip.protocol;
	count = bpf_map_lookup_elem(&dissected, &proto);
	if (!count)
		return BPF_OK;
	__sync_fetch_and_add(&count->packets, 1);
	return count->refuse ? BPF_DROP : BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";

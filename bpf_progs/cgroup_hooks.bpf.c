// SPDX-License-Identifier: GPL-2.0
/* cgroup hooks: one program per cgroup program type, attached with
 * Program.attach_cgroup(path).  Each looks what it is asked about up in a
 * map Python fills (a device, a port, a socket type, a socket option, a
 * sysctl), counts it there and takes its decision from the entry; what is
 * not in the map passes untouched. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define IPPROTO_UDP 17

/* A rule and what it saw: `deny` is Python's, `seen` the program's. */
struct rule {
	__u64 seen;
	__u32 deny;
	__u32 arg;  /* a rewrite target where the hook has one (connect4: the port) */
};

struct device_key {
	__u32 major;
	__u32 minor;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct device_key);
	__type(value, struct rule);
} devices SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u16);  /* UDP destination port (egress) or connect port */
	__type(value, struct rule);
} ports SEC(".maps");

struct socket_key {
	__u32 family;
	__u32 type;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct socket_key);
	__type(value, struct rule);
} sockets SEC(".maps");

struct sockopt_key {
	__s32 level;
	__s32 optname;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct sockopt_key);
	__type(value, struct rule);
} sockopts SEC(".maps");

struct sysctl_key {
	char name[64];  /* as bpf_sysctl_get_name gives it: "kernel/ostype" */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct sysctl_key);
	__type(value, struct rule);
} sysctls SEC(".maps");

/* sock_ops callbacks seen, by op (BPF_SOCK_OPS_*) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} tcp_ops SEC(".maps");

/* 1 to let the operation through, 0 to refuse it: what cgroup hooks return. */
static __always_inline int decide(struct rule *r)
{
	if (!r)
		return 1;
	__sync_fetch_and_add(&r->seen, 1);
	return r->deny ? 0 : 1;
}

SEC("cgroup/dev")
int check_device(struct bpf_cgroup_dev_ctx *ctx)
{
	struct device_key key = { .major = ctx->major, .minor = ctx->minor };

	return decide(bpf_map_lookup_elem(&devices, &key));
}

SEC("cgroup_skb/egress")
int check_egress(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	__u16 port;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 1;
	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP)
		return 1;
	if (bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof(udp)))
		return 1;
	port = bpf_ntohs(udp.dest);
	return decide(bpf_map_lookup_elem(&ports, &port));
}

SEC("cgroup/sock_create")
int check_socket(struct bpf_sock *sk)
{
	struct socket_key key = { .family = sk->family, .type = sk->type };

	return decide(bpf_map_lookup_elem(&sockets, &key));
}

SEC("cgroup/connect4")
int rewrite_connect(struct bpf_sock_addr *ctx)
{
	__u16 port = bpf_ntohs(ctx->user_port);
	struct rule *r = bpf_map_lookup_elem(&ports, &port);

	if (!r || !r->arg)
		return decide(r);
	__sync_fetch_and_add(&r->seen, 1);
	ctx->user_port = bpf_htons(r->arg);
	return 1;
}

SEC("cgroup/setsockopt")
int check_setsockopt(struct bpf_sockopt *ctx)
{
	struct sockopt_key key = { .level = ctx->level, .optname = ctx->optname };

	return decide(bpf_map_lookup_elem(&sockopts, &key));
}

SEC("cgroup/sysctl")
int check_sysctl(struct bpf_sysctl *ctx)
{
	struct sysctl_key key = {};

	if (bpf_sysctl_get_name(ctx, key.name, sizeof(key.name), 0) < 0)
		return 1;
	return decide(bpf_map_lookup_elem(&sysctls, &key));
}

SEC("sockops")
int count_tcp_ops(struct bpf_sock_ops *ctx)
{
	__u32 op = ctx->op;
	__u64 *count = bpf_map_lookup_elem(&tcp_ops, &op);

	if (count)
		__sync_fetch_and_add(count, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";

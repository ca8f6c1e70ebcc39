// SPDX-License-Identifier: GPL-2.0
/* Maps for pybpf export's tests, filled from user space: a flow table keyed
 * by address and port, per-CPU counters, a log2 latency histogram per CPU,
 * and a map whose key has a field for each label decoder.  The program only reads them (it is never attached). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct flow_key {
	__u8 addr[16];
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct flow_value {
	__u64 packets;
	__u64 bytes;
};

struct hist_key {
	__u32 cpu;
	__u32 slot;
};

/* A key with a field for each label decoder but integer and static. */
struct labelled_key {
	char name[16];  /* string */
	__u64 function; /* ksym */
	__u64 cgroup;   /* cgroup */
	__u32 v4;       /* ipv4, in network order */
	__u8 v6[16];    /* ipv6 */
	__u32 nr;       /* syscall */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct labelled_key);
	__type(value, __u64);
} labelled SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} per_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct hist_key);
	__type(value, __u64);
} latency SEC(".maps");

SEC("xdp")
int read_maps(struct xdp_md *ctx)
{
	struct flow_key key = {};
	struct hist_key slot = {};
	struct labelled_key labels = {};
	__u32 zero = 0;

	if (bpf_map_lookup_elem(&flows, &key) || bpf_map_lookup_elem(&per_cpu, &zero) ||
	    bpf_map_lookup_elem(&latency, &slot) || bpf_map_lookup_elem(&labelled, &labels))
		return XDP_PASS;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Maps for pybpf export's tests, filled from user space: a flow table keyed
 * by address and port, per-CPU counters, and a log2 latency histogram per
 * CPU.  The program only reads them (it is never attached). */
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
	__u32 zero = 0;

	if (bpf_map_lookup_elem(&flows, &key) || bpf_map_lookup_elem(&per_cpu, &zero) ||
	    bpf_map_lookup_elem(&latency, &slot))
		return XDP_PASS;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

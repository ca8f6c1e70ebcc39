// SPDX-License-Identifier: GPL-2.0
/* The map the Python peers of `make bench-peers` read: the same definition
 * as bench.py's own (u32 -> u64 HASH), in an object every library can load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} peer_hash SEC(".maps");

SEC("xdp")
int touch(struct xdp_md *ctx)
{
	__u32 key = 1;

	return bpf_map_lookup_elem(&peer_hash, &key) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Refused by every verifier: the map value is used without a NULL check. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} vals SEC(".maps");

SEC("xdp")
int deref_unchecked(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&vals, &key);

	return *value ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

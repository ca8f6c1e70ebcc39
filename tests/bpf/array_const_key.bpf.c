// SPDX-License-Identifier: GPL-2.0
/* ARRAY lookups with a constant key and no NULL check.
 *
 * From 6.14 the verifier knows a lookup in an ARRAY (or PERCPU_ARRAY) with a
 * key it can prove constant and below max_entries cannot fail, and lets the
 * program use the value unchecked; older verifiers refuse the dereference
 * ("map_value_or_null").  It can prove the key only when the stack holds it
 * as a tracked zero or as a spilled constant register at an 8-byte-aligned
 * slot: a nonzero 4-byte key that clang stores at fp-4 stays unknown, and
 * every verifier refuses that form.  Both programs load on request only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} slots SEC(".maps");

SEC("?xdp")
int read_slot_zero(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&slots, &key);

	return *value == 7 ? XDP_PASS : XDP_DROP;
}

SEC("?xdp")
int read_slot_two(struct xdp_md *ctx)
{
	__u32 key = 2;
	__u64 *value = bpf_map_lookup_elem(&slots, &key);

	return *value == 7 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Programs that hook another BPF program: global_funcs.bpf.c's global
 * function `verdict_for_length`.  Their sections name no target program:
 * a loader aims them with set_attach_target.
 *
 * verdict_override (freplace/EXT) replaces the function: every packet gets
 * the verdict stored at index 0 of `overrides`, and is counted.
 * watch_verdict (fexit on a BPF program) sees each call's length and result. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);  /* XDP action */
} overrides SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);  /* packet length */
	__type(value, __s32);  /* the verdict returned for it */
} seen SEC(".maps");

__u64 replaced_calls;

SEC("?freplace")
int verdict_override(__u32 len)
{
	__u32 zero = 0;
	__u32 *action = bpf_map_lookup_elem(&overrides, &zero);

	__sync_fetch_and_add(&replaced_calls, 1);
	return action ? (int)*action : XDP_ABORTED;
}

SEC("?fexit/verdict_for_length")
int BPF_PROG(watch_verdict, __u32 len, int verdict)
{
	if (!bpf_map_lookup_elem(&seen, &len))
		bpf_map_update_elem(&seen, &len, &verdict, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

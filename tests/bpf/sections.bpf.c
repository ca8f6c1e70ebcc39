// SPDX-License-Identifier: GPL-2.0
/* Sections as programs written elsewhere use them: one that says where to
 * attach (raw_tp/sys_enter), ones that do not (xdp, bare uprobe and usdt;
 * say_length prints with bpf_printk),
 * and, not loaded unless a test asks, one libbpf cannot type and one that
 * names a kernel function that does not exist.  And a bloom filter whose
 * hash-function count a loader sets. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 target_tgid;
const volatile __u32 target_nr;  /* the syscall to count */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

/* For map_extra: the number of hash functions, set before load. */
struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, __u32);
} seen_values SEC(".maps");

SEC("raw_tp/sys_enter")
int count_calls(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	__u64 *count;

	if (bpf_get_current_pid_tgid() >> 32 != target_tgid || ctx->args[1] != target_nr)
		return 0;
	count = bpf_map_lookup_elem(&calls, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

SEC("xdp")
int pass_all(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int say_length(struct xdp_md *ctx)
{
	bpf_printk("pybpf says %u", (__u32)(ctx->data_end - ctx->data));
	return XDP_PASS;
}

SEC("uprobe")
int bare_uprobe(void *ctx)
{
	return 0;
}

SEC("usdt")
int bare_usdt(void *ctx)
{
	return 0;
}

SEC("?pybpf_unknown_section")
int untyped(void *ctx)
{
	return 0;
}

SEC("?fentry/pybpf_no_such_kernel_function")
int missing_function(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

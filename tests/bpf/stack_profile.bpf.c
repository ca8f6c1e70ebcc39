// SPDX-License-Identifier: GPL-2.0
/* A small CPU profiler in the style of real ones: each perf-event sample
 * of the target process records its user stack in `stacks`, whose value
 * size (the frame count) the loader sets at run time from the kernel's
 * perf_event_max_stack, and counts it in `samples` by stack id. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 target_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__type(key, __u32);
	/* value_size: set by the loader before load */
	__uint(max_entries, 1024);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __s32);  /* stack id; < 0: the kernel's error */
	__type(value, __u64);
} samples SEC(".maps");

SEC("perf_event")
int sample_stack(struct bpf_perf_event_data *ctx)
{
	__s32 id;
	__u64 one = 1, *count;

	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	count = bpf_map_lookup_elem(&samples, &id);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&samples, &id, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

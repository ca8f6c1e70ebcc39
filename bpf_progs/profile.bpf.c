// SPDX-License-Identifier: GPL-2.0
/* profile: CPU stack samples.  Run on a perf event's samples (a CPU clock at
 * some frequency), it counts each (process, user stack, kernel stack). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "counting.h"
#include "tool_filter.h"

#define MAX_STACK_DEPTH 127 /* PERF_MAX_STACK_DEPTH */

const volatile bool include_idle = false; /* samples of the idle task (pid 0) too */

struct stack_key {
	__u32 pid;
	__s32 user_stack;   /* an id in stacks; negative: none (a kernel thread) */
	__s32 kernel_stack; /* an id in stacks; negative: none (user mode) */
	char comm[COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct stack_key);
	__type(value, __u64);
} counts SEC(".maps");

/* Samples not counted because counts was full. */
DROPPED_MAP(dropped);

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	struct stack_key key = {.pid = bpf_get_current_pid_tgid() >> 32};

	if ((!key.pid && !include_idle) || filtered_out())
		return 0;
	key.user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	key.kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	count_or_drop(&counts, &key, &dropped);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

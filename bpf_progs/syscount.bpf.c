// SPDX-License-Identifier: GPL-2.0
/* Syscall counter: counts raw_syscalls/sys_enter per (process, syscall nr).
 * Set target_pid (through .rodata, before load) to count one process only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 target_pid = 0;

struct syscall_key {
	__u32 pid; /* the process (thread group) id */
	__u32 nr;  /* the syscall number */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct syscall_key);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int count_syscalls(struct trace_event_raw_sys_enter *ctx)
{
	struct syscall_key key = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.nr = (__u32)ctx->id,
	};
	__u64 one = 1, *count;

	if (target_pid && key.pid != target_pid)
		return 0;
	count = bpf_map_lookup_elem(&counts, &key);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return 0;
	}
	/* NOEXIST: if another CPU inserted it meanwhile, add to that entry */
	if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST)) {
		count = bpf_map_lookup_elem(&counts, &key);
		if (count)
			__sync_fetch_and_add(count, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

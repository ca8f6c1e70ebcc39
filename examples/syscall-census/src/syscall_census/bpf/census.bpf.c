// SPDX-License-Identifier: GPL-2.0
/* Count the system calls of one process by number: every sys_enter of
 * `target_tgid` (set by the loader before load) adds one to its number. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u32 target_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);  /* syscall number */
	__type(value, __u64);  /* calls */
} calls SEC(".maps");

SEC("raw_tp/sys_enter")
int count_syscall(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 nr = (__u32)ctx->args[1];
	__u64 one = 1, *count;

	if (bpf_get_current_pid_tgid() >> 32 != target_tgid)
		return 0;
	count = bpf_map_lookup_elem(&calls, &nr);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&calls, &nr, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

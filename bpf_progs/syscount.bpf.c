// SPDX-License-Identifier: GPL-2.0
/* Syscall counter: counts raw_syscalls/sys_enter per process, per syscall
 * number, or per both.  The --pid and --comm filters (tool_filter.h) and
 * what a key keeps are set through .rodata before load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "counting.h"
#include "tool_filter.h"

const volatile bool key_pid = true; /* false: every process counts under pid 0 */
const volatile bool key_nr = true;  /* false: every syscall counts under nr 0 */

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

/* Per process: its command name, as of its latest new counts entry (so that
 * a process that exits before the report is still named). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, char[COMM_LEN]);
} comms SEC(".maps");

/* Syscalls not counted because counts was full: nothing is dropped unsaid. */
DROPPED_MAP(dropped);

SEC("tracepoint/raw_syscalls/sys_enter")
int count_syscalls(struct trace_event_raw_sys_enter *ctx)
{
	struct syscall_key key = {
		.pid = key_pid ? bpf_get_current_pid_tgid() >> 32 : 0,
		.nr = key_nr ? (__u32)ctx->id : 0,
	};

	if (filtered_out())
		return 0;
	if (count_or_drop(&counts, &key, &dropped) && key_pid) {
		char comm[COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		bpf_map_update_elem(&comms, &key.pid, comm, BPF_ANY);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

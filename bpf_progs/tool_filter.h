/* SPDX-License-Identifier: GPL-2.0 */
/* The --pid and --comm filters every tracer of the pybpf command shares:
 * set through .rodata before load (0 and "" select everything), so that
 * what is filtered out never leaves the kernel. */
#ifndef PYBPF_TOOL_FILTER_H
#define PYBPF_TOOL_FILTER_H

#include <bpf/bpf_core_read.h>

#define COMM_LEN 16 /* TASK_COMM_LEN */

const volatile __u32 target_pid = 0;               /* a process (thread group) id */
const volatile char target_comm[COMM_LEN] = {}; /* a task's comm, exactly */

/* Whether a comm is not the one --comm asks for. */
static __always_inline bool comm_filtered_out(const char *comm)
{
	int i;

	if (!target_comm[0])
		return false;
	for (i = 0; i < COMM_LEN; i++) {
		if (comm[i] != target_comm[i])
			return true;
		if (!comm[i])
			break;
	}
	return false;
}

/* Whether the current task is outside the filters. */
static __always_inline bool filtered_out(void)
{
	char comm[COMM_LEN];

	if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)
		return true;
	if (!target_comm[0])
		return false;
	bpf_get_current_comm(comm, sizeof(comm));
	return comm_filtered_out(comm);
}

/* Whether task p (not the current one: a task being woken) is outside them. */
static __always_inline bool task_filtered_out(struct task_struct *p)
{
	char comm[COMM_LEN];

	if (target_pid && BPF_CORE_READ(p, tgid) != target_pid)
		return true;
	if (!target_comm[0])
		return false;
	BPF_CORE_READ_STR_INTO(&comm, p, comm);
	return comm_filtered_out(comm);
}

#endif

// SPDX-License-Identifier: GPL-2.0
/* On every syscall of the process target_tgid: record its kernel and user
 * stacks (STACK_TRACE), whether it runs under the cgroup in cgroups[0]
 * (CGROUP_ARRAY), and count it in the task's TASK_STORAGE value if Python
 * created one.  The other local storages are declared for user-space tests. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define STACK_DEPTH 127

struct task_note {
	__u64 syscalls; /* counted by the program */
	__u64 tag;      /* written by Python */
};

struct observed {
	__s64 kstack;
	__s64 ustack;
	__s64 under_cgroup;
	__u64 tag_seen;
};

volatile __u32 target_tgid;
struct observed seen;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_note);
} task_notes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_note);
} sk_notes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} cgroup_notes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} inode_notes SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct task_note *note;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	/* REUSE_STACKID: a hash collision with an older stack replaces it
	 * instead of failing with -EEXIST, so the latest syscall's stacks are
	 * always there to read. */
	seen.kstack = bpf_get_stackid(ctx, &stacks, BPF_F_REUSE_STACKID);
	seen.ustack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK | BPF_F_REUSE_STACKID);
	seen.under_cgroup = bpf_current_task_under_cgroup(&cgroups, 0);
	note = bpf_task_storage_get(&task_notes, bpf_get_current_task_btf(), 0, 0);
	if (note) {
		__sync_fetch_and_add(&note->syscalls, 1);
		seen.tag_seen = note->tag;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

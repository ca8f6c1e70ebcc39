// SPDX-License-Identifier: GPL-2.0
/* execsnoop: one event per execve, with up to MAX_ARGS arguments; only the
 * filled part of the event is sent.  The BPF side of docs/porting.md's
 * worked port (the loader is execsnoop.py). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define ARG_BYTES 128
#define MAX_ARGS 16
#define ARGS_BYTES (ARG_BYTES * MAX_ARGS)

struct event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 args_count;
	__u32 args_size;
	char comm[16];
	char args[ARGS_BYTES];
};

/* Names the type, so that it is in the object's BTF for the loader. */
struct event *unused_event __attribute__((unused));

const volatile __u32 target_ppid = 0;  /* 0: every process */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} heap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int on_execve(struct trace_event_raw_sys_enter *ctx)
{
	const char *const *argv = (const char *const *)ctx->args[1];
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, ppid = BPF_CORE_READ(task, real_parent, tgid), i, size;
	struct event *e;

	if (target_ppid && ppid != target_ppid)
		return 0;
	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->args_count = 0;
	e->args_size = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	for (i = 0; i < MAX_ARGS; i++) {
		const char *arg = NULL;
		__u32 used = e->args_size;
		long n;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (used > ARGS_BYTES - ARG_BYTES)
			break;
		n = bpf_probe_read_user_str(&e->args[used], ARG_BYTES, arg);
		if (n < 0)
			break;
		if (n == 0) {  /* "" before 6.x: 0 bytes, not its NUL */
			e->args[used] = 0;
			n = 1;
		}
		e->args_count++;
		e->args_size = used + n;
	}
	size = e->args_size;
	if (size > ARGS_BYTES)
		size = ARGS_BYTES;
	bpf_ringbuf_output(&events, e, offsetof(struct event, args) + size, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

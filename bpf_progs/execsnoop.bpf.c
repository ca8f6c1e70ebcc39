// SPDX-License-Identifier: GPL-2.0
/* execsnoop: one event per execve/execveat, sent when the call returns, with
 * its return code and up to MAX_ARGS arguments.  Only the filled part of the
 * event is sent (the arguments are packed, each with its NUL). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tool_filter.h"

#define ARG_BYTES 256
#define MAX_ARGS 32
#define ARGS_BYTES (ARG_BYTES * MAX_ARGS)

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__s32 retval;
	__u32 args_count;
	__u32 args_size;
	__u32 args_truncated; /* 1: more arguments, or a longer one, than were kept */
	char comm[COMM_LEN];
	char args[ARGS_BYTES];
};

/* Names the type, so that it is in the object's BTF for the loader. */
struct exec_event *unused_exec_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* the thread id */
	__type(value, struct exec_event);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

static __always_inline int on_enter(const char *const *argv)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0, i;
	struct exec_event *e;

	if (filtered_out())
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->retval = 0;
	e->args_count = 0;
	e->args_size = 0;
	e->args_truncated = 0;
	for (i = 0; i < MAX_ARGS; i++) {
		const char *arg = NULL;
		__u32 used;
		long n;

		/* Read the size back from the map value, whose contents the
		 * verifier does not track: one state per iteration, not one per
		 * possible size (which exceeds its instruction budget). */
		asm volatile("" ::: "memory");
		used = e->args_size;

		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		if (used > ARGS_BYTES - ARG_BYTES) {
			e->args_truncated = 1;
			break;
		}
		n = bpf_probe_read_user_str(&e->args[used], ARG_BYTES, arg);
		if (n < 0)
			break;
		if (n == 0) { /* "" before 6.x: 0 bytes, not its NUL */
			e->args[used] = 0;
			n = 1;
		}
		if (n == ARG_BYTES)
			e->args_truncated = 1;
		e->args_count++;
		e->args_size = used + n;
	}
	if (i == MAX_ARGS) {
		const char *more = NULL;

		if (!bpf_probe_read_user(&more, sizeof(more), &argv[MAX_ARGS]) && more)
			e->args_truncated = 1;
	}
	bpf_map_update_elem(&pending, &tid, e, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), size;
	struct exec_event *e = bpf_map_lookup_elem(&pending, &tid);

	if (!e)
		return 0;
	e->retval = ret;
	e->pid = bpf_get_current_pid_tgid() >> 32; /* a thread's exec makes it the leader */
	bpf_get_current_comm(e->comm, sizeof(e->comm)); /* the new program's, after a success */
	size = e->args_size;
	if (size > ARGS_BYTES)
		size = ARGS_BYTES;
	bpf_ringbuf_output(&events, e, offsetof(struct exec_event, args) + size, 0);
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int execve_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *const *)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execve_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int execveat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *const *)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int execveat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";

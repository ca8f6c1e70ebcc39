// SPDX-License-Identifier: GPL-2.0
/* An exec tracer in the style of real ones: for each execve of a child of
 * `parent_tgid` it copies up to MAX_ARGS arguments into a struct built in a
 * per-CPU scratch map, and submits only the filled part of it.  The struct
 * is not in this object's BTF (see exec_types.bpf.c). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "exec_event.h"

const volatile __u32 parent_tgid;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct exec_event));
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} execs SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int record_exec(struct trace_event_raw_sys_enter *ctx)
{
	const char *const *argv = (const char *const *)ctx->args[1];
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, ppid = BPF_CORE_READ(task, real_parent, tgid);
	struct exec_event *e;
	__u32 i, size;

	if (ppid != parent_tgid)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
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
	/* Only the filled part: the header and args_size bytes of args. */
	size = e->args_size;
	if (size > ARGS_BYTES)
		size = ARGS_BYTES;
	bpf_ringbuf_output(&execs, e, offsetof(struct exec_event, args) + size, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

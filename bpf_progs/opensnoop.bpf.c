// SPDX-License-Identifier: GPL-2.0
/* opensnoop: one event per open/openat/openat2, sent when the call returns,
 * with its flags, return value (an fd or -errno) and path.  Only the filled
 * part of the path is sent. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tool_filter.h"

#define PATH_BYTES 4096 /* PATH_MAX */

struct open_event {
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret;
	__u64 flags;
	__u32 path_size; /* with the NUL */
	char comm[COMM_LEN];
	char path[PATH_BYTES];
};

struct open_event *unused_open_event __attribute__((unused));

struct pending_open {
	const char *path;
	__u64 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* the thread id */
	__type(value, struct pending_open);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct open_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

static __always_inline int on_enter(const char *path, __u64 flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_open open = {.path = path, .flags = flags};

	if (filtered_out())
		return 0;
	bpf_map_update_elem(&pending, &tid, &open, BPF_ANY);
	return 0;
}

static __always_inline int on_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct pending_open *open = bpf_map_lookup_elem(&pending, &tid);
	struct open_event *e;
	long n;

	if (!open)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto done;
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = open->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	n = bpf_probe_read_user_str(e->path, sizeof(e->path), open->path);
	if (n <= 0) { /* unreadable (or "" before 6.x): an empty path */
		e->path[0] = 0;
		n = 1;
	}
	e->path_size = n;
	n &= PATH_BYTES - 1; /* bounds the size for the verifier; n <= PATH_BYTES */
	bpf_ringbuf_output(&events, e, offsetof(struct open_event, path) + (n ? n : PATH_BYTES), 0);
done:
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_open")
int open_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_exit_open")
int open_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter((const char *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how *how = (struct open_how *)ctx->args[2];
	__u64 flags = 0;

	bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
	return on_enter((const char *)ctx->args[1], flags);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return on_exit(ctx->ret);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* exitsnoop: one event per process exit (its leader thread's, unless every
 * thread is asked for), with its exit code or signal and its age. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tool_filter.h"

const volatile bool trace_threads = false; /* every thread's exit, not only the process's */

struct exit_event {
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 exit_code; /* the wait status: code << 8, or the signal (| 0x80: core dumped) */
	__u64 age_ns;    /* from the task's start to its exit */
	char comm[COMM_LEN];
};

struct exit_event *unused_exit_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

SEC("tracepoint/sched/sched_process_exit")
int process_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct exit_event *e;
	__u64 *dropped;

	/* The leader's exit stands for the process's, as in BCC's exitsnoop, even
	 * where other threads outlive it: signal->live cannot say which thread is
	 * last, since threads exiting at once on other CPUs all reach this
	 * tracepoint after the final decrement. */
	if (!trace_threads && (__u32)id != id >> 32)
		return 0;
	if (filtered_out())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		dropped = bpf_map_lookup_elem(&lost, &zero);
		if (dropped)
			*dropped += 1;
		return 0;
	}
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->age_ns = bpf_ktime_get_ns() - BPF_CORE_READ(task, start_time);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* runqlat: how long tasks wait on a CPU's run queue, from being woken (or
 * preempted) to running, as a log2 histogram (in microseconds unless hist_unit_ns says otherwise).  The --pid and
 * --comm filters select the waiting task. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "log2_hist.h"
#include "tool_filter.h"

#define TASK_RUNNING 0

/* task_struct's state before 5.14 renamed it __state (CO-RE picks the one there is) */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *p)
{
	if (bpf_core_field_exists(p->__state))
		return BPF_CORE_READ(p, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)p, state);
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32); /* the thread id */
	__type(value, __u64); /* when it was queued, ns */
} queued SEC(".maps");

LOG2_HIST_MAP(hist);

static __always_inline int enqueue(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	__u64 now = bpf_ktime_get_ns();

	if (!tid || task_filtered_out(p))
		return 0;
	bpf_map_update_elem(&queued, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(wakeup, struct task_struct *p)
{
	return enqueue(p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(wakeup_new, struct task_struct *p)
{
	return enqueue(p);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(switch_task, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid;
	__u64 *since;

	if (task_state(prev) == TASK_RUNNING)
		enqueue(prev); /* preempted: back on the queue now */
	tid = BPF_CORE_READ(next, pid);
	since = bpf_map_lookup_elem(&queued, &tid);
	if (!since)
		return 0;
	log2_hist_add(&hist, bpf_ktime_get_ns() - *since);
	bpf_map_delete_elem(&queued, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* A task iterator (SEC("iter/task"), Program.attach_iter): one line per
 * watched process, "pid comm note", where the note is what Python stored
 * for the pid in `notes`.  Processes not in the map are skipped, threads
 * other than the leader too. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);  /* process id */
	__type(value, __u64);
} notes SEC(".maps");

SEC("iter/task")
int list_watched(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	__u32 pid;
	__u64 *note;

	if (!task || task->pid != task->tgid)
		return 0;
	pid = task->tgid;
	note = bpf_map_lookup_elem(&notes, &pid);
	if (note)
		BPF_SEQ_PRINTF(seq, "%d %s %llu\n", pid, task->comm, *note);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* funclatency: one function's latency, from entry to return, as a log2
 * histogram.  One pair of programs is loaded, by what the target is: a
 * user function (uprobe/uretprobe), or a kernel function (fentry/fexit, or
 * kprobe/kretprobe where the kernel has no trampolines). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "log2_hist.h"
#include "tool_filter.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64); /* pid_tgid: the calling thread */
	__type(value, __u64); /* when it entered, ns */
} entered SEC(".maps");

LOG2_HIST_MAP(hist);

static __always_inline int on_entry(void)
{
	__u64 id = bpf_get_current_pid_tgid(), now;

	if (filtered_out())
		return 0;
	now = bpf_ktime_get_ns();
	bpf_map_update_elem(&entered, &id, &now, BPF_ANY);
	return 0;
}

static __always_inline int on_return(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *since = bpf_map_lookup_elem(&entered, &id);

	if (!since)
		return 0;
	log2_hist_add(&hist, bpf_ktime_get_ns() - *since);
	bpf_map_delete_elem(&entered, &id);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(user_entry)
{
	return on_entry();
}

SEC("uretprobe")
int BPF_URETPROBE(user_return)
{
	return on_return();
}

SEC("kprobe")
int BPF_KPROBE(kprobe_entry)
{
	return on_entry();
}

SEC("kretprobe")
int BPF_KRETPROBE(kprobe_return)
{
	return on_return();
}

SEC("fentry")
int BPF_PROG(fentry_entry)
{
	return on_entry();
}

SEC("fexit")
int BPF_PROG(fexit_return)
{
	return on_return();
}

char LICENSE[] SEC("license") = "GPL";

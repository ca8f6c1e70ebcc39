// SPDX-License-Identifier: GPL-2.0
/* User-space function hooks: a uprobe and a uretprobe for a function taking
 * a long first argument and returning a long.
 *
 * Attach them with Program.attach_uprobe(binary, "function", pid=...).  Each
 * looks the process up in `calls` (Python inserts the processes to watch)
 * and adds what it saw there, so other processes cost one lookup. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct call_record {
	__u64 calls;    /* entries seen by the uprobe */
	__u64 returns;  /* returns seen by the uretprobe */
	__s64 arg_sum;  /* sum of the first arguments */
	__s64 ret_sum;  /* sum of the return values */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);  /* the process (thread group) id */
	__type(value, struct call_record);
} calls SEC(".maps");

static __always_inline struct call_record *record_of_self(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return bpf_map_lookup_elem(&calls, &tgid);
}

SEC("uprobe")
int BPF_UPROBE(on_call, long first)
{
	struct call_record *r = record_of_self();

	if (r) {
		__sync_fetch_and_add(&r->arg_sum, first);
		__sync_fetch_and_add(&r->calls, 1);
	}
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(on_return, long ret)
{
	struct call_record *r = record_of_self();

	if (r) {
		__sync_fetch_and_add(&r->ret_sum, ret);
		__sync_fetch_and_add(&r->returns, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

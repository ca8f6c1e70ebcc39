// SPDX-License-Identifier: GPL-2.0
/* A perf event program (SEC("perf_event"), Program.attach_perf_event): for
 * page-fault events sampled at every fault, it counts the faults a watched
 * process takes inside the address range Python stored for it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct watch {
	__u64 start;   /* from Python: the range to count faults in */
	__u64 end;
	__u64 faults;  /* faults seen inside it */
	__u64 samples; /* every sample of this process */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);  /* process id */
	__type(value, struct watch);
} watched SEC(".maps");

SEC("perf_event")
int count_faults(struct bpf_perf_event_data *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct watch *w = bpf_map_lookup_elem(&watched, &tgid);

	if (!w)
		return 0;
	__sync_fetch_and_add(&w->samples, 1);
	if (ctx->addr >= w->start && ctx->addr < w->end)
		__sync_fetch_and_add(&w->faults, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

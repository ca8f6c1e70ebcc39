// SPDX-License-Identifier: GPL-2.0
/* biolatency: block I/O latency, from a request's issue to the device to its
 * completion, as a log2 histogram (in microseconds unless hist_unit_ns says otherwise) (all devices). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "log2_hist.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, __u64); /* when it was issued, ns */
} issued SEC(".maps");

LOG2_HIST_MAP(hist);

SEC("tp_btf/block_rq_issue")
int BPF_PROG(rq_issue, struct request *rq)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&issued, &rq, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(rq_complete, struct request *rq)
{
	__u64 *since = bpf_map_lookup_elem(&issued, &rq);

	if (!since)
		return 0; /* issued before the tool started */
	log2_hist_add(&hist, bpf_ktime_get_ns() - *since);
	bpf_map_delete_elem(&issued, &rq);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

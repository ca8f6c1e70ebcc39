// SPDX-License-Identifier: GPL-2.0
/* PERF_EVENT_ARRAY: every run of `emit` sends one numbered record to the
 * perf buffer of the CPU it runs on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct perf_sample {
	__u64 seq;
	__u32 cpu;
	__u32 magic;
};

struct perf_sample *unused_sample __attribute__((unused)); /* puts the type in BTF */

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} samples SEC(".maps");

__u64 next_seq;
__u64 send_errors;

SEC("xdp")
int emit(struct xdp_md *ctx)
{
	struct perf_sample s = {
		.seq = __sync_fetch_and_add(&next_seq, 1),
		.cpu = bpf_get_smp_processor_id(),
		.magic = 0x5a5a5a5a,
	};

	if (bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &s, sizeof(s)))
		__sync_fetch_and_add(&send_errors, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Ring and perf buffer producers for `make bench`: each run sends one 8-byte
 * record numbered from 0, so test_run(repeat=N) fills the buffer with N. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 25); /* 32 MiB: 2M records of 16 bytes */
} bench_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} bench_perf SEC(".maps");

__u64 next;
__u64 dropped;

SEC("xdp")
int produce(struct xdp_md *ctx)
{
	__u64 seq = next++;

	if (bpf_ringbuf_output(&bench_ring, &seq, sizeof(seq), 0))
		dropped++;
	return XDP_PASS;
}

SEC("xdp")
int produce_perf(struct xdp_md *ctx)
{
	__u64 seq = next++;

	if (bpf_perf_event_output(ctx, &bench_perf, BPF_F_CURRENT_CPU, &seq, sizeof(seq)))
		dropped++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

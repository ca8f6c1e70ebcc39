// SPDX-License-Identifier: GPL-2.0
/* Ring buffer producer for `make bench`: each run submits one 8-byte record
 * numbered from 0, so test_run(repeat=N) fills the ring with N records. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 25); /* 32 MiB: 2M records of 16 bytes */
} bench_ring SEC(".maps");

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

char LICENSE[] SEC("license") = "GPL";

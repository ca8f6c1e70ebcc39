// SPDX-License-Identifier: GPL-2.0
/* BPF-to-BPF calls: a global function, verified once on its own (the
 * verifier checks it against its BTF signature, not per call site), and a
 * static one, both called by the XDP program.  The global one looks the
 * packet length up in `verdicts`. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);  /* packet length */
	__type(value, __u32);  /* XDP action */
} verdicts SEC(".maps");

__u32 calls;

__noinline int verdict_for_length(__u32 len)
{
	__u32 *action = bpf_map_lookup_elem(&verdicts, &len);

	return action ? (int)*action : XDP_PASS;
}

static __noinline void count_call(void)
{
	__sync_fetch_and_add(&calls, 1);
}

SEC("xdp")
int by_length(struct xdp_md *ctx)
{
	count_call();
	return verdict_for_length(ctx->data_end - ctx->data);
}

char LICENSE[] SEC("license") = "GPL";

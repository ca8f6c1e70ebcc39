// SPDX-License-Identifier: GPL-2.0
/* Ring buffer producers for tests: every run of emit() submits one event
 * (a sequence number, the CPU, the packet length and a tag it looks up in
 * a settings array); emit_other() writes a u64 to a second ring. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event {
	__u64 seq;
	__u32 cpu;
	__u32 pkt_len;
	char tag[8];
};

/* Types used only through local pointers stay out of BTF; a global that
 * names the type puts it there for user space (event_type="struct event"). */
struct event *unused_event __attribute__((unused));

struct config {
	__u64 base;
	char tag[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* 4 MiB: 100,000 32-byte records fit */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
} other SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} settings SEC(".maps");

__u64 seq = 0;
__u64 dropped = 0;

SEC("xdp")
int emit(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&settings, &zero);
	struct event *e;

	if (!cfg)
		return XDP_ABORTED;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return XDP_PASS;
	}
	e->seq = cfg->base + __sync_fetch_and_add(&seq, 1);
	e->cpu = bpf_get_smp_processor_id();
	e->pkt_len = (__u32)(ctx->data_end - ctx->data);
	__builtin_memcpy(e->tag, cfg->tag, sizeof(e->tag));
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

SEC("xdp")
int emit_other(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct config *cfg = bpf_map_lookup_elem(&settings, &zero);
	__u64 value;

	if (!cfg)
		return XDP_ABORTED;
	value = cfg->base + 1000;
	bpf_ringbuf_output(&other, &value, sizeof(value), 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* XDP redirection: frames go out of another interface (DEVMAP, DEVMAP_HASH)
 * or on to another CPU (CPUMAP), chosen by what Python stored in the maps.
 *
 *   to_port:     redirect every frame to ports[0] (DEVMAP, an ifindex)
 *   to_port_hash: redirect every frame to port_hash[0] (DEVMAP_HASH)
 *   to_cpu:      redirect every frame to CPU target_cpu (a CPUMAP key, set
 *                through obj.bss), when Python gave that CPU an entry
 *   on_cpu:      an xdp/cpumap program for CPUMAP entries: records, per CPU,
 *                how many IPv4 frames it saw there, then passes them on.
 *
 * An empty slot passes the frame on; `outcomes` counts both cases. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800

volatile __u32 target_cpu;

enum redirect_outcome {
	REDIRECTED,
	NO_TARGET,
	REDIRECT_OUTCOMES,
};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} port_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

/* CPU -> IPv4 frames the cpumap program saw on it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} seen_on_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, REDIRECT_OUTCOMES);
	__type(key, __u32);
	__type(value, __u64);
} outcomes SEC(".maps");

static __always_inline void count(__u32 outcome)
{
	__u64 *n = bpf_map_lookup_elem(&outcomes, &outcome);

	if (n)
		*n += 1;
}

SEC("xdp")
int to_port(struct xdp_md *ctx)
{
	__u32 key = 0;

	if (!bpf_map_lookup_elem(&ports, &key)) {
		count(NO_TARGET);
		return XDP_PASS;
	}
	count(REDIRECTED);
	return bpf_redirect_map(&ports, key, XDP_PASS);
}

SEC("xdp")
int to_port_hash(struct xdp_md *ctx)
{
	__u32 key = 0;

	if (!bpf_map_lookup_elem(&port_hash, &key)) {
		count(NO_TARGET);
		return XDP_PASS;
	}
	count(REDIRECTED);
	return bpf_redirect_map(&port_hash, key, XDP_PASS);
}

SEC("xdp")
int to_cpu(struct xdp_md *ctx)
{
	/* BPF programs cannot look a CPUMAP up: the redirect's fallback action
	 * (XDP_PASS) says whether the CPU has an entry. */
	long action = bpf_redirect_map(&cpus, target_cpu, XDP_PASS);

	count(action == XDP_REDIRECT ? REDIRECTED : NO_TARGET);
	return action;
}

SEC("xdp/cpumap")
int on_cpu(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 one = 1, *n;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS; /* IPv4 only: a fresh interface's IPv6 chatter is not counted */
	n = bpf_map_lookup_elem(&seen_on_cpu, &cpu);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&seen_on_cpu, &cpu, &one, BPF_NOEXIST);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

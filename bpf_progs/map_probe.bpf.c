// SPDX-License-Identifier: GPL-2.0
/* Map probes: one program per lookup map type that looks a key up with
 * bpf_map_lookup_elem and reports what it found in the packet it was run on
 * (BPF_PROG_TEST_RUN), so tests and users can check what a BPF program sees
 * after Python wrote a map.
 *
 * The packet carries a struct map_probe: Python fills key (and inner_key for the
 * map-in-map probes); the program fills found, value and cpu.  The per-CPU
 * probes read the slot of the CPU they run on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct map_probe {
	__u32 key;
	__u32 inner_key;
	__u32 found;
	__u32 cpu;
	__u64 value;
	__u64 pad; /* test_run needs at least an Ethernet header's worth of data */
};

#define MAP(_name, _type, _max)                \
	struct {                               \
		__uint(type, _type);           \
		__uint(max_entries, _max);     \
		__type(key, __u32);            \
		__type(value, __u64);          \
	} _name SEC(".maps")

MAP(array, BPF_MAP_TYPE_ARRAY, 16);
MAP(percpu_array, BPF_MAP_TYPE_PERCPU_ARRAY, 16);
MAP(hash, BPF_MAP_TYPE_HASH, 64);
MAP(percpu_hash, BPF_MAP_TYPE_PERCPU_HASH, 64);
MAP(lru_hash, BPF_MAP_TYPE_LRU_HASH, 64);
MAP(lru_percpu_hash, BPF_MAP_TYPE_LRU_PERCPU_HASH, 64);

/* Map-in-map: the template every inner map must match (u32 -> u64, 16 entries). */
struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_map);
} array_of_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_map);
} hash_of_maps SEC(".maps");

static __always_inline struct map_probe *request(struct xdp_md *ctx)
{
	struct map_probe *p = (void *)(long)ctx->data;

	if ((void *)(p + 1) > (void *)(long)ctx->data_end)
		return NULL;
	p->cpu = bpf_get_smp_processor_id();
	p->found = 0;
	p->value = 0;
	return p;
}

static __always_inline int report(struct map_probe *p, __u64 *value)
{
	if (value) {
		p->found = 1;
		p->value = *value;
	}
	return XDP_PASS;
}

#define PROBE(_map)                                                     \
	SEC("xdp")                                                      \
	int probe_##_map(struct xdp_md *ctx)                            \
	{                                                               \
		struct map_probe *p = request(ctx);                         \
		if (!p)                                                 \
			return XDP_ABORTED;                             \
		return report(p, bpf_map_lookup_elem(&_map, &p->key));  \
	}

PROBE(array)
PROBE(percpu_array)
PROBE(hash)
PROBE(percpu_hash)
PROBE(lru_hash)
PROBE(lru_percpu_hash)

/* found = 1: the outer slot holds a map but the inner key is absent;
 * found = 2 (and value): both lookups hit. */
#define PROBE_OUTER(_map)                                               \
	SEC("xdp")                                                      \
	int probe_##_map(struct xdp_md *ctx)                            \
	{                                                               \
		struct map_probe *p = request(ctx);                         \
		void *inner;                                            \
		__u64 *value;                                           \
		if (!p)                                                 \
			return XDP_ABORTED;                             \
		inner = bpf_map_lookup_elem(&_map, &p->key);            \
		if (!inner)                                             \
			return XDP_PASS;                                \
		p->found = 1;                                           \
		value = bpf_map_lookup_elem(inner, &p->inner_key);      \
		if (value) {                                            \
			p->found = 2;                                   \
			p->value = *value;                              \
		}                                                       \
		return XDP_PASS;                                        \
	}

PROBE_OUTER(array_of_maps)
PROBE_OUTER(hash_of_maps)

char LICENSE[] SEC("license") = "GPL";

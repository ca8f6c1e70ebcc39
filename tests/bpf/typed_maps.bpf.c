// SPDX-License-Identifier: GPL-2.0
/* One map of each foundation type, with integer and struct keys and values,
 * and a program that looks entries up so tests can see what the BPF side
 * finds after Python wrote them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u64 magic = 0;
__u64 runs;     /* .bss: read_maps adds bump to it on every run */
__u64 bump = 1; /* .data */

struct pair {
	__u32 a;
	__u16 b; /* 2 bytes of padding follow */
	__u64 c;
	char tag[4];
};

struct skey {
	__u32 pid;
	__u32 nr;
};

#define MAP(_name, _type, _key, _value, _max)        \
	struct {                                     \
		__uint(type, _type);                 \
		__uint(max_entries, _max);           \
		__type(key, _key);                   \
		__type(value, _value);               \
	} _name SEC(".maps")

MAP(h_u64, BPF_MAP_TYPE_HASH, __u32, __u64, 64);
MAP(h_struct, BPF_MAP_TYPE_HASH, struct skey, struct pair, 64);
MAP(arr_pair, BPF_MAP_TYPE_ARRAY, __u32, struct pair, 8);
MAP(arr_s32, BPF_MAP_TYPE_ARRAY, __u32, __s32, 8);
MAP(pch_u32, BPF_MAP_TYPE_PERCPU_HASH, __u32, __u32, 64);
MAP(pca_u64, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, __u64, 4);
MAP(lru_u64, BPF_MAP_TYPE_LRU_HASH, __u32, __u64, 8);
MAP(lrupc_u64, BPF_MAP_TYPE_LRU_PERCPU_HASH, __u32, __u64, 8);
MAP(result, BPF_MAP_TYPE_ARRAY, __u32, __u64, 8);

static __always_inline void put(__u32 slot, __u64 value)
{
	bpf_map_update_elem(&result, &slot, &value, BPF_ANY);
}

/* result[0] = h_u64[7], [1] = h_struct[{1,2}].c, [2] = arr_pair[3].a,
 * [3] = this CPU's pca_u64[1], [4] = magic, [5] = lru_u64[5]; ~0 when absent. */
SEC("xdp")
int read_maps(struct xdp_md *ctx)
{
	__u32 k7 = 7, k3 = 3, k1 = 1, k5 = 5;
	struct skey sk = { .pid = 1, .nr = 2 };
	struct pair *p;
	__u64 *v;

	v = bpf_map_lookup_elem(&h_u64, &k7);
	put(0, v ? *v : ~0ULL);
	p = bpf_map_lookup_elem(&h_struct, &sk);
	put(1, p ? p->c : ~0ULL);
	p = bpf_map_lookup_elem(&arr_pair, &k3);
	put(2, p ? p->a : ~0ULL);
	v = bpf_map_lookup_elem(&pca_u64, &k1);
	put(3, v ? *v : ~0ULL);
	put(4, magic);
	v = bpf_map_lookup_elem(&lru_u64, &k5);
	put(5, v ? *v : ~0ULL);
	runs += bump;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

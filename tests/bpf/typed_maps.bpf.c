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

enum shade { SHADE_DARK = -2, SHADE_DIM = -1, SHADE_LIT = 1 };

/* Bitfields of every kind BTF can describe: unsigned, signed, bool, enum,
 * spanning bytes, after a whole-byte member, and inside an anonymous union. */
struct bits {
	__u32 kind : 3;
	__s32 delta : 5;
	__u32 wide : 20;
	__u8 tag;
	__u64 big : 40;
	_Bool on : 1;
	enum shade shade : 3;
	union {
		__u16 raw;
		struct {
			__u16 lo : 7;
			__u16 hi : 9;
		};
	};
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
MAP(arr_bits, BPF_MAP_TYPE_ARRAY, __u32, struct bits, 2);

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

/* arr_bits[1] = every field of arr_bits[0] changed by compiled C code, so
 * Python's bit offsets are checked against the compiler's in both directions. */
SEC("xdp")
int flip_bits(struct xdp_md *ctx)
{
	__u32 k0 = 0, k1 = 1;
	struct bits *in = bpf_map_lookup_elem(&arr_bits, &k0);
	struct bits *out = bpf_map_lookup_elem(&arr_bits, &k1);

	if (!in || !out)
		return XDP_ABORTED;
	out->kind = in->kind + 1;
	out->delta = -in->delta;
	out->wide = in->wide * 2;
	out->tag = in->tag ^ 0xff;
	out->big = in->big + 1;
	out->on = !in->on;
	out->shade = in->shade == SHADE_DARK ? SHADE_LIT : SHADE_DARK;
	out->lo = in->hi;
	out->hi = in->lo;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Configuration the way libbpf skeleton users write it: const volatile
 * arrays, a string and a bool in .rodata, a struct with an array in .data,
 * counters in .bss, a custom section (.data.stats) and a function-static
 * counter.  check_config applies it to each packet and reports back. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct limits {
	__u32 max_len;
	bool strict;
	__u16 ports[4];
};

const volatile __u16 ports[4] = {};
const volatile char label[16] = "";
const volatile bool verbose = false;

struct limits limits = { .max_len = 1500 };

__u64 seen[4];
char echoed[16];

/* 128-bit integers: a variable and a struct field, read as Python ints. */
__int128 big_signed = -5;
struct wide {
	unsigned __int128 total;
	__u32 packets;
} wide_stats;

int verbose_runs SEC(".data.stats") = 0;
bool matched SEC(".data.stats") = false;

SEC("xdp")
int check_config(struct xdp_md *ctx)
{
	static __u64 runs;
	__u32 len = ctx->data_end - ctx->data;
	int i;

	__sync_fetch_and_add(&runs, 1);
	for (i = 0; i < 4; i++) {
		if (ports[i] == len) {
			seen[i]++;
			matched = true;
		}
		if (limits.ports[i] == len)
			seen[i] += 100;
	}
	for (i = 0; i < 16; i++)
		echoed[i] = label[i];
	big_signed -= 1;
	wide_stats.total += (unsigned __int128)len << 64;
	wide_stats.packets++;
	if (verbose)
		verbose_runs++;
	if (limits.strict && len > limits.max_len)
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

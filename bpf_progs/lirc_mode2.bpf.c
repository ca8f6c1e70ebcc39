// SPDX-License-Identifier: GPL-2.0
/* An infrared sample counter (SEC("lirc_mode2"), Program.attach_lirc): sees
 * every raw IR sample a LIRC device receives (a pulse, space or timeout with
 * its duration in microseconds) and adds it up by kind in `samples`.  A real
 * decoder would turn the pulses into a scancode with bpf_rc_keydown. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define LIRC_MODE2_MASK 0xff000000
#define LIRC_VALUE_MASK 0x00ffffff

struct sample_sum {
	__u64 count;
	__u64 microseconds;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);  /* LIRC_MODE2_* >> 24: 0 space, 1 pulse, 2 frequency, 3 timeout, 4 overflow */
	__type(value, struct sample_sum);
} samples SEC(".maps");

SEC("lirc_mode2")
int count_samples(unsigned int *sample)
{
	__u32 kind = (*sample & LIRC_MODE2_MASK) >> 24;
	struct sample_sum *sum = bpf_map_lookup_elem(&samples, &kind);

	if (sum) {
		__sync_fetch_and_add(&sum->count, 1);
		__sync_fetch_and_add(&sum->microseconds, *sample & LIRC_VALUE_MASK);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

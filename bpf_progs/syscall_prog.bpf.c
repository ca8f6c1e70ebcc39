// SPDX-License-Identifier: GPL-2.0
/* A SYSCALL program: run from user space with Program.test_run(ctx=...),
 * it adds `delta` to the counter `key` names in `counters` and reports the
 * value before and after through its context, which the caller reads back. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct add_args {
	__u32 key;    /* in */
	__u32 found;  /* out: 1 if the key was there */
	__u64 delta;  /* in */
	__u64 before; /* out */
	__u64 after;  /* out */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

SEC("syscall")
int add_to_counter(struct add_args *args)
{
	__u32 key = args->key;
	__u64 *value = bpf_map_lookup_elem(&counters, &key);

	args->found = !!value;
	if (!value)
		return -1;
	args->before = *value;
	args->after = __sync_add_and_fetch(value, args->delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/* SPDX-License-Identifier: GPL-2.0 */
/* Counting into a hash map from any CPU, with nothing lost unsaid. */
#ifndef PYBPF_COUNTING_H
#define PYBPF_COUNTING_H

/* The per-CPU counter of what a full map could not count. */
#define DROPPED_MAP(name)                                                      \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                       \
		__uint(max_entries, 1);                                        \
		__type(key, __u32);                                            \
		__type(value, __u64);                                          \
	} name SEC(".maps")

/* Add one to key's counter in counts (a __u64 hash map), creating it; where
 * counts is full, add one to dropped[0] instead (a per-CPU __u64 array).
 * Returns whether this call created the entry. */
static __always_inline bool count_or_drop(void *counts, const void *key, void *dropped)
{
	__u64 one = 1, *count = bpf_map_lookup_elem(counts, key);
	__u32 zero = 0;

	if (count) {
		__sync_fetch_and_add(count, 1);
		return false;
	}
	/* NOEXIST: if another CPU inserted it meanwhile, add to that entry */
	if (!bpf_map_update_elem(counts, key, &one, BPF_NOEXIST))
		return true;
	count = bpf_map_lookup_elem(counts, key);
	if (!count)
		count = bpf_map_lookup_elem(dropped, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	return false;
}

#endif

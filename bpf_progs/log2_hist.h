/* SPDX-License-Identifier: GPL-2.0 */
/* Log2 histograms shared by the latency tools: slot s counts values v with
 * 2^s <= v < 2^(s+1), and 0 counts in slot 0 (BCC's convention, which
 * pybpf.tools.histogram draws and pybpf export serves). */
#ifndef PYBPF_LOG2_HIST_H
#define PYBPF_LOG2_HIST_H

#define MAX_SLOTS 64

/* The histogram's unit in nanoseconds (1000: microseconds), set through .rodata. */
const volatile __u64 hist_unit_ns = 1000;

/* floor(log2(v)) for v > 0, 0 for v == 0, without a loop. */
static __always_inline __u32 log2_slot(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* A histogram map of MAX_SLOTS u64 counters. */
#define LOG2_HIST_MAP(name)                                                    \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY);                              \
		__uint(max_entries, MAX_SLOTS);                                \
		__type(key, __u32);                                            \
		__type(value, __u64);                                          \
	} name SEC(".maps")

/* Count a duration of ns nanoseconds, in hist_unit_ns units. */
static __always_inline void log2_hist_add(void *map, __u64 ns)
{
	__u32 slot = log2_slot(ns / (hist_unit_ns ? hist_unit_ns : 1));
	__u64 *count;

	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	count = bpf_map_lookup_elem(map, &slot);
	if (count)
		__sync_fetch_and_add(count, 1);
}

#endif

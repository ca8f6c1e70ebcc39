// SPDX-License-Identifier: GPL-2.0
/* USDT programs for tests/helpers/usdt_target.c: on_tick (a bare section,
 * attached with attach_usdt) sums the probe's two arguments and the attach
 * cookie per process; on_done names its probe in the section, so attach()
 * finds it (usdt_target looked up in PATH). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>

struct usdt_totals {
	__u64 ticks;
	__u64 sum_i;
	__u64 sum_v;
	__u64 cookie;
	__u64 done;  /* the argument of pybpf:done */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);  /* process id */
	__type(value, struct usdt_totals);
} totals SEC(".maps");

static struct usdt_totals *totals_of_this_process(void)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct usdt_totals zero = {}, *t = bpf_map_lookup_elem(&totals, &pid);

	if (t)
		return t;
	bpf_map_update_elem(&totals, &pid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&totals, &pid);
}

SEC("usdt")
int BPF_USDT(on_tick, long i, long v)
{
	struct usdt_totals *t = totals_of_this_process();

	if (!t)
		return 0;
	__sync_fetch_and_add(&t->ticks, 1);
	__sync_fetch_and_add(&t->sum_i, i);
	__sync_fetch_and_add(&t->sum_v, v);
	t->cookie = bpf_usdt_cookie(ctx);
	return 0;
}

SEC("usdt/usdt_target:pybpf:done")
int BPF_USDT(on_done, long n)
{
	struct usdt_totals *t = totals_of_this_process();

	if (t)
		t->done = n;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

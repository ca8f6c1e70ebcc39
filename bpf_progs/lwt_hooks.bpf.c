// SPDX-License-Identifier: GPL-2.0
/* Lightweight tunnel hooks, run by the routes that carry them: LWT_IN on
 * input route lookup, LWT_OUT on local output, LWT_XMIT on transmit
 * (Program.attach_route), and LWT_SEG6LOCAL as a seg6local End.BPF action
 * (Program.attach_seg6local).  Each counts what it sees in its slot of
 * `hooks`, and drops it if Python set `drop` there. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define BPF_OK 0
#define BPF_DROP 2

enum { HOOK_IN, HOOK_OUT, HOOK_XMIT, HOOK_SEG6LOCAL, NR_HOOKS };

struct hook_count {
	__u64 packets;
	__u64 bytes;
	__u32 drop;  /* from Python: 1 to drop what the hook sees */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_HOOKS);
	__type(key, __u32);
	__type(value, struct hook_count);
} hooks SEC(".maps");

static __always_inline int account(__u32 hook, struct __sk_buff *skb)
{
	struct hook_count *c = bpf_map_lookup_elem(&hooks, &hook);

	if (!c)
		return BPF_OK;
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len);
	return c->drop ? BPF_DROP : BPF_OK;
}

SEC("lwt_in")
int count_in(struct __sk_buff *skb)
{
	return account(HOOK_IN, skb);
}

SEC("lwt_out")
int count_out(struct __sk_buff *skb)
{
	return account(HOOK_OUT, skb);
}

SEC("lwt_xmit")
int count_xmit(struct __sk_buff *skb)
{
	return account(HOOK_XMIT, skb);
}

SEC("lwt_seg6local")
int count_seg6local(struct __sk_buff *skb)
{
	return account(HOOK_SEG6LOCAL, skb);
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Socket hooks: a socket filter (Program.attach_socket), a reuseport
 * selector (Program.attach_reuseport), and sockmap programs for stream data
 * and messages (Program.attach_sockmap).  Each looks up a map Python fills,
 * counts there and takes its decision from the entry. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define IPPROTO_UDP 17

/* A rule and what it saw: `drop` is Python's, the counters the program's. */
struct rule {
	__u64 seen;
	__u64 bytes;
	__u32 drop;
	__u32 _pad;
};

/* The rule for `key` in `rules`, with one more packet or message of `bytes`
 * counted; NULL when Python set none. */
static __always_inline struct rule *match(void *rules, __u32 key, __u32 bytes)
{
	struct rule *r = bpf_map_lookup_elem(rules, &key);

	if (r) {
		__sync_fetch_and_add(&r->seen, 1);
		__sync_fetch_and_add(&r->bytes, bytes);
	}
	return r;
}

/* Socket filter: datagrams by length (skb->len: the UDP header and payload). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct rule);
} lengths SEC(".maps");

SEC("socket")
int filter_by_length(struct __sk_buff *skb)
{
	struct rule *r = match(&lengths, skb->len, skb->len);

	return r && r->drop ? 0 : skb->len;  /* bytes to keep: 0 drops */
}

/* Reuseport: the first byte of the datagram picks a slot of `choices`, whose value
 * is the index in `group` of the socket that gets the datagram. */
struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} group SEC(".maps");

struct choice {
	__u32 socket;  /* from Python: the index in `group` */
	__u32 _pad;
	__u64 seen;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct choice);
} choices SEC(".maps");

SEC("sk_reuseport")
int select_by_first_byte(struct sk_reuseport_md *ctx)
{
	__u8 *data = ctx->data, *end = ctx->data_end;
	struct choice *c;
	__u32 key;

	if (ctx->ip_protocol == IPPROTO_UDP)
		data += sizeof(struct udphdr);  /* UDP's data starts at its header */
	if (data + 1 > end)
		return SK_PASS;  /* the kernel's own hash picks */
	key = *data;
	c = bpf_map_lookup_elem(&choices, &key);
	if (!c)
		return SK_PASS;
	__sync_fetch_and_add(&c->seen, 1);
	if (bpf_sk_select_reuseport(ctx, &group, &c->socket, 0))
		return SK_DROP;
	return SK_PASS;
}

/* sockmap: the sockets whose traffic the sk_skb and sk_msg programs see. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

/* Traffic by local port: a socket's sk_skb stream data, and its sk_msg sends. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct rule);
} by_port SEC(".maps");

SEC("sk_skb/stream_verdict")
int stream_verdict(struct __sk_buff *skb)
{
	struct rule *r = match(&by_port, skb->local_port, skb->len);

	return r && r->drop ? SK_DROP : SK_PASS;
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	struct rule *r = match(&by_port, msg->local_port, msg->size);

	return r && r->drop ? SK_DROP : SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* tcpconnect: each outgoing TCP connection (IPv4 and IPv6), sent when its
 * handshake ends: established, or failed (refused, timed out, reset). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tool_filter.h"
#include "tcp_event.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, const void *); /* the socket */
	__type(value, struct tcp_owner);
} connecting SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct tcp_event *unused_tcp_event __attribute__((unused));

SEC("tracepoint/sock/inet_sock_set_state")
int state_change(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const void *sk = ctx->skaddr;
	struct tcp_owner *owner, now;
	struct tcp_event *e;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ctx->newstate == TCP_SYN_SENT) { /* in connect(): the caller is current */
		if (filtered_out())
			return 0;
		tcp_owner_now(&now);
		bpf_map_update_elem(&connecting, &sk, &now, BPF_ANY);
		return 0;
	}
	if (ctx->oldstate != TCP_SYN_SENT)
		return 0;
	owner = bpf_map_lookup_elem(&connecting, &sk);
	if (!owner)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		tcp_event_owner(e, owner);
		tcp_event_addresses(e, ctx);
		e->kind = ctx->newstate == TCP_ESTABLISHED ? CONNECT_ESTABLISHED : CONNECT_FAILED;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&connecting, &sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* tcplife: each TCP connection (IPv4 and IPv6) when it closes, with its
 * data bytes received and sent and how long it lived.  The process is the one
 * that connected, or for an accepted connection the one that closed it. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "tool_filter.h"
#include "tcp_event.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, const void *); /* the socket */
	__type(value, struct tcp_owner);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct tcp_event *unused_tcp_event __attribute__((unused));

/* Data bytes received: bytes_received counts sequence numbers, so the peer's
 * FIN adds one; SOCK_DONE says this socket took it (tcp_fin()). */
static __always_inline __u64 data_received(const void *sk)
{
	__u64 received = BPF_CORE_READ((struct tcp_sock *)sk, bytes_received);
	unsigned long flags = BPF_CORE_READ((struct sock *)sk, __sk_common.skc_flags);

	if ((flags & (1UL << SOCK_DONE)) && received)
		received--;
	return received;
}

SEC("tracepoint/sock/inet_sock_set_state")
int state_change(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const void *sk = ctx->skaddr;
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct tcp_owner *owner, now = {};
	struct tcp_event *e;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	owner = bpf_map_lookup_elem(&sockets, &sk);
	if (ctx->newstate == TCP_SYN_SENT || ctx->newstate == TCP_SYN_RECV) {
		/* the start; the owner is known now only in connect() */
		now.since_ns = bpf_ktime_get_ns();
		if (ctx->newstate == TCP_SYN_SENT) {
			if (filtered_out())
				return 0;
			tcp_owner_now(&now);
		}
		bpf_map_update_elem(&sockets, &sk, &now, BPF_ANY);
		return 0;
	}
	if (!owner)
		return 0; /* opened before the tool started, or filtered out */
	if (!owner->pid && (ctx->newstate == TCP_LAST_ACK || ctx->newstate == TCP_FIN_WAIT1)) {
		/* an accepted connection's close(): its process is current */
		if (filtered_out()) {
			bpf_map_delete_elem(&sockets, &sk);
			return 0;
		}
		__u64 since = owner->since_ns;

		tcp_owner_now(owner);
		owner->since_ns = since;
		return 0;
	}
	if (ctx->newstate != TCP_CLOSE)
		return 0;
	if (owner->pid || !(target_pid || target_comm[0])) {
		e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		if (e) {
			__builtin_memset(e, 0, sizeof(*e));
			tcp_event_owner(e, owner);
			tcp_event_addresses(e, ctx);
			e->kind = CONNECTION_CLOSED;
			e->rx_bytes = data_received(sk);
			/* data bytes only, each once: no SYN, FIN or retransmission */
			e->tx_bytes = BPF_CORE_READ(tp, bytes_sent) - BPF_CORE_READ(tp, bytes_retrans);
			bpf_ringbuf_submit(e, 0);
		}
	}
	bpf_map_delete_elem(&sockets, &sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

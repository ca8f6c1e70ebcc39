/* SPDX-License-Identifier: GPL-2.0 */
/* The event tcpconnect and tcplife send, from sock:inet_sock_set_state. */
#ifndef PYBPF_TCP_EVENT_H
#define PYBPF_TCP_EVENT_H

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

enum tcp_event_kind {
	CONNECT_ESTABLISHED, /* tcpconnect: the handshake completed */
	CONNECT_FAILED,      /* tcpconnect: SYN_SENT went to CLOSE */
	CONNECTION_CLOSED,   /* tcplife: a connection's end */
};

struct tcp_event {
	__u64 duration_ns; /* tcpconnect: the handshake; tcplife: the connection */
	__u64 rx_bytes;    /* tcplife: data bytes received */
	__u64 tx_bytes;    /* tcplife: data bytes sent (a retransmission counted once) */
	__u32 pid;         /* the process that connected (or, for tcplife, closed) */
	__u32 uid;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 kind;
	__u8 pad;
	__u8 saddr[16]; /* IPv4: the first 4 bytes */
	__u8 daddr[16];
	char comm[COMM_LEN];
};

/* Who a socket belongs to, and since when: recorded in process context. */
struct tcp_owner {
	__u64 since_ns;
	__u32 pid;
	__u32 uid;
	char comm[COMM_LEN];
};

static __always_inline void tcp_event_addresses(struct tcp_event *e, struct trace_event_raw_inet_sock_set_state *ctx)
{
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	if (ctx->family == AF_INET) {
		bpf_probe_read_kernel(e->saddr, 4, ctx->saddr); /* ctx arrays: no memcpy from ctx + off */
		bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
	}
}

static __always_inline void tcp_owner_now(struct tcp_owner *owner)
{
	owner->since_ns = bpf_ktime_get_ns();
	owner->pid = bpf_get_current_pid_tgid() >> 32;
	owner->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(owner->comm, sizeof(owner->comm));
}

static __always_inline void tcp_event_owner(struct tcp_event *e, struct tcp_owner *owner)
{
	e->pid = owner->pid;
	e->uid = owner->uid;
	__builtin_memcpy(e->comm, owner->comm, sizeof(e->comm));
	e->duration_ns = bpf_ktime_get_ns() - owner->since_ns;
}

#endif

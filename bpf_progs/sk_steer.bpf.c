// SPDX-License-Identifier: GPL-2.0
/* Socket steering with sk_lookup: a connection or datagram to a local port
 * listed in `ports` goes to the socket Python stored in `sockmap` or
 * `sockhash`, even when nothing listens on that port.
 *
 * ports: local port (host order) -> struct steer_target {which map, key}.
 * The programs look the socket up with bpf_map_lookup_elem and hand it to the
 * kernel with bpf_sk_assign; `stats` counts what happened, per outcome. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define STEER_SOCKMAP 0
#define STEER_SOCKHASH 1

enum steer_outcome {
	STEER_ASSIGNED,  /* the looked-up socket took the connection */
	STEER_NO_SOCKET, /* the port is listed, the map slot is empty */
	STEER_REFUSED,   /* bpf_sk_assign refused the socket (wrong protocol/state) */
	STEER_OUTCOMES,
};

struct steer_target {
	__u32 map;  /* STEER_SOCKMAP or STEER_SOCKHASH */
	__u32 key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct steer_target);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} sockmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} sockhash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_OUTCOMES);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline void count(__u32 outcome)
{
	__u64 *n = bpf_map_lookup_elem(&stats, &outcome);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("sk_lookup")
int steer(struct bpf_sk_lookup *ctx)
{
	__u32 port = ctx->local_port;
	struct steer_target *target;
	struct bpf_sock *sk;
	long err;

	target = bpf_map_lookup_elem(&ports, &port);
	if (!target)
		return SK_PASS; /* not ours: the normal socket lookup decides */
	if (target->map == STEER_SOCKHASH)
		sk = bpf_map_lookup_elem(&sockhash, &target->key);
	else
		sk = bpf_map_lookup_elem(&sockmap, &target->key);
	if (!sk) {
		count(STEER_NO_SOCKET);
		return SK_PASS;
	}
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	count(err ? STEER_REFUSED : STEER_ASSIGNED);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

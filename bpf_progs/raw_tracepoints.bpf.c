// SPDX-License-Identifier: GPL-2.0
/* Raw tracepoint programs: sys_enter (RAW_TRACEPOINT) counting a watched
 * process's syscalls by number, and nbd_send_request (RAW_TRACEPOINT_WRITABLE,
 * in the nbd module), which reads the request header the kernel is about to
 * send to the NBD server and counts requests at the offsets Python asks for. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);  /* process id */
	__type(value, __u32);  /* the syscall number to count */
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);  /* process id */
	__type(value, __u64);  /* calls of that syscall */
} syscalls SEC(".maps");

SEC("raw_tp/sys_enter")
int count_syscall(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 *nr = bpf_map_lookup_elem(&watched, &pid);
	__u64 *count;

	/* sys_enter(struct pt_regs *regs, long id) */
	if (!nr || ctx->args[1] != *nr)
		return 0;
	count = bpf_map_lookup_elem(&syscalls, &pid);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

/* The NBD wire header (include/uapi/linux/nbd.h); the module's BTF has it,
 * vmlinux.h does not. */
struct nbd_wire_request {
	__be32 magic;
	__be32 type;
	__be64 cookie;
	__be64 from;
	__be32 len;
} __attribute__((packed));

struct nbd_seen {
	__u64 requests;
	__u32 type;  /* NBD_CMD_* of the last one */
	__u32 len;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);  /* byte offset */
	__type(value, struct nbd_seen);
} nbd_offsets SEC(".maps");

SEC("raw_tp.w/nbd_send_request")
int watch_nbd(struct bpf_raw_tracepoint_args *ctx)
{
	/* nbd_send_request(struct nbd_request *req, int index, struct request *rq):
	 * the header is the tracepoint's writable buffer. */
	struct nbd_wire_request *req = (void *)ctx->args[0];
	__u64 from = bpf_be64_to_cpu(req->from);
	struct nbd_seen *seen = bpf_map_lookup_elem(&nbd_offsets, &from);

	if (!seen)
		return 0;
	seen->type = bpf_ntohl(req->type);
	seen->len = bpf_ntohl(req->len);
	__sync_fetch_and_add(&seen->requests, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Kernel function hooks: fentry/fexit, fmod_ret, LSM and kprobes.
 *
 * Each program looks the current process up in `watched` (Python inserts
 * the processes to watch) and records what it saw there; fmod_ret and LSM
 * also take their decision from the entry.  Processes not in the map pass
 * through untouched, so attaching these is safe on a busy machine.
 *
 * do_sys_openat2 returns long up to 6.12 and int on newer kernels: set
 * openat2_ret_size from the running kernel's BTF before load
 * (pybpf.features.return_type) and the programs sign-extend correctly.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

const volatile __u32 openat2_ret_size = 8;

struct watch {
	__u64 openat2_entries;  /* fentry/do_sys_openat2 */
	__u64 openat2_exits;    /* fexit/do_sys_openat2 */
	__s64 openat2_ret;      /* the last value it returned */
	__u64 kprobe_hits;      /* kprobe/do_sys_openat2 */
	__u64 kretprobe_hits;   /* kretprobe/do_sys_openat2 */
	__s64 kretprobe_ret;    /* the last value it returned, seen from the kretprobe */
	__u64 getsid_denied;    /* getsid calls fmod_ret answered with -deny_errno */
	__u64 sockets_denied;   /* socket() calls the LSM hook refused */
	__s32 deny_errno;       /* from Python: the errno to answer with (0: allow) */
	__s32 deny_family;      /* from Python: the socket family to refuse */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);  /* the process (thread group) id */
	__type(value, struct watch);
} watched SEC(".maps");

static __always_inline struct watch *watched_self(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return bpf_map_lookup_elem(&watched, &tgid);
}

/* The return value as the kernel's type has it: the upper half of the
 * register is undefined when the function returns int. */
static __always_inline __s64 openat2_ret(__u64 raw)
{
	return openat2_ret_size == 4 ? (__s64)(__s32)raw : (__s64)raw;
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(openat2_entry)
{
	struct watch *w = watched_self();

	if (w)
		__sync_fetch_and_add(&w->openat2_entries, 1);
	return 0;
}

SEC("fexit/do_sys_openat2")
int BPF_PROG(openat2_exit, int dfd, const char *filename, struct open_how *how, __u64 ret)
{
	struct watch *w = watched_self();

	if (w) {
		w->openat2_ret = openat2_ret(ret);
		__sync_fetch_and_add(&w->openat2_exits, 1);
	}
	return 0;
}

SEC("kprobe/do_sys_openat2")
int BPF_KPROBE(openat2_kprobe)
{
	struct watch *w = watched_self();

	if (w)
		__sync_fetch_and_add(&w->kprobe_hits, 1);
	return 0;
}

SEC("kretprobe/do_sys_openat2")
int BPF_KRETPROBE(openat2_kretprobe, __u64 ret)
{
	struct watch *w = watched_self();

	if (w) {
		w->kretprobe_ret = openat2_ret(ret);
		__sync_fetch_and_add(&w->kretprobe_hits, 1);
	}
	return 0;
}

/* What a hook may return: 0 or -errno (6.12+ verifiers refuse LSM programs
 * that could return anything else).  barrier_var keeps both compares on the
 * returned register (and forget what the caller knew), so the verifier sees
 * the bound clang would otherwise prove on a copy or before a negation. */
static __always_inline int hook_ret(long v)
{
	barrier_var(v);
	if (v < -4095)
		return 0;
	barrier_var(v);
	if (v > 0)
		return 0;
	return v;
}

/* fmod_ret may replace the result of functions on the error-injection list
 * and of security_* functions, the LSM layer's entry points. */
SEC("fmod_ret/security_task_getsid")
int BPF_PROG(deny_getsid, struct task_struct *task, int ret)
{
	struct watch *w = watched_self();

	if (ret || !w || w->deny_errno <= 0)
		return hook_ret(ret);  /* an earlier refusal, or nothing to do */
	__sync_fetch_and_add(&w->getsid_denied, 1);
	return hook_ret(-(long)w->deny_errno);
}

SEC("lsm/socket_create")
int BPF_PROG(refuse_socket, int family, int type, int protocol, int kern, int ret)
{
	struct watch *w = watched_self();

	if (ret || kern || !w || w->deny_errno <= 0 || family != w->deny_family)
		return hook_ret(ret);
	__sync_fetch_and_add(&w->sockets_denied, 1);
	return hook_ret(-(long)w->deny_errno);
}

char LICENSE[] SEC("license") = "GPL";

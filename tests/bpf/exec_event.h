/* SPDX-License-Identifier: GPL-2.0 */
/* The record exec_events.bpf.c sends, shared with exec_types.bpf.c. */
#ifndef EXEC_EVENT_H
#define EXEC_EVENT_H

#define ARG_BYTES 64
#define MAX_ARGS 8
#define ARGS_BYTES (ARG_BYTES * MAX_ARGS)

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 args_count;
	__u32 args_size;  /* bytes of args filled: the record ends there */
	char comm[16];
	char args[ARGS_BYTES];  /* NUL-separated */
};

#endif

// SPDX-License-Identifier: GPL-2.0
/* Only types: the BTF of struct exec_event, which exec_events.bpf.c sends
 * but does not carry (as most tools' objects do not).  A global naming the
 * type is what makes clang emit it. */
#include "vmlinux.h"
#include "exec_event.h"

struct exec_event *exec_event_type __attribute__((unused));

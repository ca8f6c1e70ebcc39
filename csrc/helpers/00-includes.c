/* C helpers compiled into the cffi module, for what cffi cannot express
 * (libbpf_set_print passes a va_list) or where Python-side work would dominate
 * a syscall.  csrc/build_ffi.py joins the files of this folder in name order;
 * this one holds the includes they share. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xdp/xsk.h>


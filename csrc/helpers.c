/* C helpers compiled into the cffi module, for what cffi cannot express
 * (libbpf_set_print passes a va_list) or where Python-side buffer work would
 * dominate a single map syscall (integer keys passed by value). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xdp/xsk.h>

#define PYBPF_LIBBPF_MAJOR LIBBPF_MAJOR_VERSION
#define PYBPF_LIBBPF_MINOR LIBBPF_MINOR_VERSION

static void pybpf_on_libbpf_print(int level, const char *msg);

/* Format one libbpf message and pass it to Python.  libbpf hands the whole
 * verifier log to a single call, so the buffer is sized from a first pass. */
static int pybpf_print_trampoline(enum libbpf_print_level level, const char *fmt, va_list args)
{
    char small[512];
    va_list copy;
    int n;

    va_copy(copy, args);
    n = vsnprintf(small, sizeof(small), fmt, copy);
    va_end(copy);
    if (n < 0)
        return 0;
    if ((size_t)n < sizeof(small)) {
        pybpf_on_libbpf_print((int)level, small);
        return n;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        pybpf_on_libbpf_print((int)level, small);
        return n;
    }
    vsnprintf(big, (size_t)n + 1, fmt, args);
    pybpf_on_libbpf_print((int)level, big);
    free(big);
    return n;
}

static void pybpf_install_print(void)
{
    libbpf_set_print(pybpf_print_trampoline);
}

/* Integer fast paths.  The key and value travel by value, so Python fills no
 * shared buffer and the helpers are safe to call from several threads (cffi
 * releases the GIL during the syscall).
 *
 * A map is named by one 64-bit handle, fd | key_size << 32 | value_size << 40
 * (pybpf_handle), to keep the argument conversions per call down.
 *
 * A lookup returns the value.  On failure it returns a sentinel (all ones, or
 * LLONG_MIN when signed) and records -errno for pybpf_last_error(); when a
 * real value equals the sentinel it records 0.  Only the sentinel touches the
 * thread-local, so the common path does not. */
static __thread int pybpf_errno_tls;

static int pybpf_last_error(void)
{
    return pybpf_errno_tls;
}

static long long pybpf_handle(int fd, int key_size, int value_size)
{
    if (fd < 0 || key_size < 1 || key_size > 8 || value_size < 1 || value_size > 8)
        return -1;
    return (long long)(unsigned int)fd | (long long)key_size << 32 | (long long)value_size << 40;
}

#define HANDLE_FD(h) ((int)((h) & 0xffffffff))
#define HANDLE_KEY_SIZE(h) ((int)(((h) >> 32) & 0xff))
#define HANDLE_VALUE_SIZE(h) ((int)(((h) >> 40) & 0xff))

/* Store an integer in its own width so the layout is right on either byte
 * order; -ERANGE if it does not fit (Python then reports it through the codec). */
static int pybpf_put_int(unsigned long long v, int size, void *out)
{
    if (size > 0 && size < 8 && (v >> (size * 8)) != 0)
        return -ERANGE;
    switch (size) {
    case 1: { unsigned char x = (unsigned char)v; memcpy(out, &x, 1); return 0; }
    case 2: { unsigned short x = (unsigned short)v; memcpy(out, &x, 2); return 0; }
    case 4: { unsigned int x = (unsigned int)v; memcpy(out, &x, 4); return 0; }
    case 8: memcpy(out, &v, 8); return 0;
    default: return -EINVAL;
    }
}

static unsigned long long pybpf_get_uint(const void *in, int size)
{
    switch (size) {
    case 1: { unsigned char x; memcpy(&x, in, 1); return x; }
    case 2: { unsigned short x; memcpy(&x, in, 2); return x; }
    case 4: { unsigned int x; memcpy(&x, in, 4); return x; }
    default: { unsigned long long x; memcpy(&x, in, 8); return x; }
    }
}

static long long pybpf_get_sint(const void *in, int size)
{
    switch (size) {
    case 1: { signed char x; memcpy(&x, in, 1); return x; }
    case 2: { short x; memcpy(&x, in, 2); return x; }
    case 4: { int x; memcpy(&x, in, 4); return x; }
    default: { long long x; memcpy(&x, in, 8); return x; }
    }
}

/* Look the key up into v; 0 or -errno. */
static int pybpf_lookup_raw(long long h, unsigned long long key, unsigned long long *v)
{
    unsigned long long k;
    int err = pybpf_put_int(key, HANDLE_KEY_SIZE(h), &k);

    return err ? err : bpf_map_lookup_elem(HANDLE_FD(h), &k, v);
}

static unsigned long long pybpf_lookup_uint(long long h, unsigned long long key)
{
    unsigned long long v, out;
    int err = pybpf_lookup_raw(h, key, &v);

    if (err) {
        pybpf_errno_tls = err;
        return ~0ULL;
    }
    out = pybpf_get_uint(&v, HANDLE_VALUE_SIZE(h));
    if (out == ~0ULL)
        pybpf_errno_tls = 0;
    return out;
}

static long long pybpf_lookup_sint(long long h, unsigned long long key)
{
    unsigned long long v;
    long long out;
    int err = pybpf_lookup_raw(h, key, &v);

    if (err) {
        pybpf_errno_tls = err;
        return LLONG_MIN;
    }
    out = pybpf_get_sint(&v, HANDLE_VALUE_SIZE(h));
    if (out == LLONG_MIN)
        pybpf_errno_tls = 0;
    return out;
}

static int pybpf_update_int(long long h, unsigned long long key, unsigned long long value, __u64 flags)
{
    unsigned long long k, v;
    int err = pybpf_put_int(key, HANDLE_KEY_SIZE(h), &k);

    if (!err)
        err = pybpf_put_int(value, HANDLE_VALUE_SIZE(h), &v);
    return err ? err : bpf_map_update_elem(HANDLE_FD(h), &k, &v, flags);
}

static int pybpf_delete_int(long long h, unsigned long long key)
{
    unsigned long long k;
    int err = pybpf_put_int(key, HANDLE_KEY_SIZE(h), &k);

    return err ? err : bpf_map_delete_elem(HANDLE_FD(h), &k);
}

/* Ring and perf buffer records collected in C: libbpf calls back per record,
 * and Python decodes the whole batch after the consume.  A C-to-Python
 * callback per record would cost far more than the record (measured ~0.5 us
 * each).  Each record's data is stored padded to 8 bytes, its size in
 * sizes[] and, for perf buffers, its CPU in cpus[].  A perf buffer's report
 * of lost records is stored in sequence as an 8-byte count whose size entry
 * carries PYBPF_LOST_MARK. */
struct pybpf_batch {
    char *data;
    __u32 *sizes;
    int *cpus;               /* NULL unless with_cpus */
    size_t len, cap;         /* bytes of data used / allocated */
    size_t count, cap_count; /* records / slots in sizes (and cpus) */
    size_t limit;            /* ring: stop the consume once len reaches this */
    size_t lost_marks;       /* perf: lost-record reports among the records */
    int with_cpus;
    int uniform;             /* every record is a sample of sizes[0] bytes */
    int err;                 /* perf: -ENOMEM if a record could not be kept */
};

#define PYBPF_RING_BATCH_FULL (-4000)
#define PYBPF_LOST_MARK 0x80000000u

static int pybpf_batch_grow(void **p, size_t *cap, size_t need, size_t item, size_t first)
{
    size_t n = *cap ? *cap : first;
    void *grown;

    while (n < need)
        n *= 2;
    if (n == *cap)
        return 0;
    grown = realloc(*p, n * item);
    if (!grown)
        return -ENOMEM;
    *p = grown;
    *cap = n;
    return 0;
}

static int pybpf_batch_add(struct pybpf_batch *b, int cpu, const void *sample, size_t size, __u32 mark)
{
    size_t padded = (size + 7) & ~(size_t)7;
    size_t cap_count = b->cap_count;

    if (pybpf_batch_grow((void **)&b->data, &b->cap, b->len + padded, 1, 1 << 16))
        return -ENOMEM;
    if (pybpf_batch_grow((void **)&b->sizes, &cap_count, b->count + 1, sizeof(*b->sizes), 4096))
        return -ENOMEM;
    if (b->with_cpus) {
        size_t cap_cpus = b->cap_count;

        if (pybpf_batch_grow((void **)&b->cpus, &cap_cpus, cap_count, sizeof(*b->cpus), cap_count))
            return -ENOMEM;
        b->cpus[b->count] = cpu;
    }
    b->cap_count = cap_count;
    memcpy(b->data + b->len, sample, size);
    memset(b->data + b->len + size, 0, padded - size);
    b->uniform = b->count ? b->uniform && b->sizes[0] == size && !mark : !mark;
    b->sizes[b->count++] = (__u32)size | mark;
    b->len += padded;
    return 0;
}

/* ring_buffer_sample_fn: the record is consumed either way; a full batch
 * ends this consume (libbpf returns our code) so Python can decode it. */
static int pybpf_ring_collect(void *ctx, void *sample, size_t size)
{
    struct pybpf_batch *b = ctx;

    if (pybpf_batch_add(b, -1, sample, size, 0))
        return -ENOMEM;
    return b->len >= b->limit ? PYBPF_RING_BATCH_FULL : 0;
}

/* perf_buffer_sample_fn and perf_buffer_lost_fn: they cannot stop libbpf,
 * so a failure is remembered for Python to raise.  A consume reads at most
 * what each CPU's buffer holds, which bounds the batch. */
static void pybpf_perf_collect(void *ctx, int cpu, void *data, __u32 size)
{
    struct pybpf_batch *b = ctx;

    if (pybpf_batch_add(b, cpu, data, size, 0))
        b->err = -ENOMEM;
}

static void pybpf_perf_lost(void *ctx, int cpu, __u64 count)
{
    struct pybpf_batch *b = ctx;

    if (pybpf_batch_add(b, cpu, &count, sizeof(count), PYBPF_LOST_MARK))
        b->err = -ENOMEM;
    else
        b->lost_marks++;
}

static void pybpf_batch_free(struct pybpf_batch *b)
{
    free(b->data);
    free(b->sizes);
    free(b->cpus);
    memset(b, 0, sizeof(*b));
}

/* perf_event_open(2) has no libc wrapper and its attr is full of bitfields:
 * build the attr here.  A sample every `period` events (or `freq` samples a
 * second when freq is set); returns the fd or -errno. */
static int pybpf_perf_event_open(__u32 type, __u64 config, __u64 period, int freq, int pid, int cpu)
{
    struct perf_event_attr attr;
    int fd;

    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = type;
    attr.config = config;
    attr.freq = freq ? 1 : 0;
    if (freq)
        attr.sample_freq = period;
    else
        attr.sample_period = period;
    fd = (int)syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Ring and perf buffer records collected in C: libbpf calls back per record,
 * and Python decodes the whole batch after the consume.  A C-to-Python
 * callback per record would cost far more than the record (measured ~0.5 us
 * each).
 *
 * Each record's data is stored padded to 8 bytes.  While every record has
 * the same size, that size is record_size and sizes[] is left unwritten; the
 * first record of another size fills it in, and from then on each record's
 * size is stored there.  A perf buffer's records come a CPU at a time
 * (libbpf reads one CPU's buffer after the other), so their CPUs are kept as
 * runs: cpu_runs[i] holds the CPU of the records from its start up to the
 * next run's.  A perf buffer's reports of lost records are kept apart, each
 * with the number of records before it, so that a loss leaves the records
 * one uniform run that Python decodes in one pass: the batch that follows a
 * loss is the one that must be fastest. */
struct pybpf_lost_report {
    __u64 before; /* records collected before this report */
    __u64 count;
    int cpu;
};

struct pybpf_cpu_run {
    __u64 start; /* the run's first record */
    int cpu;
};

struct pybpf_batch {
    char *data;
    __u32 *sizes;
    struct pybpf_cpu_run *cpu_runs; /* perf (with_cpus): each record's CPU, as runs */
    size_t cpu_runs_len, cpu_runs_cap;
    size_t len, cap;         /* bytes of data used / allocated */
    size_t count, cap_count; /* records / slots in sizes */
    size_t limit;            /* ring: stop the consume once len reaches this */
    struct pybpf_lost_report *lost; /* perf: reports of lost records */
    size_t lost_len, lost_cap;
    int with_cpus;
    size_t record_size;      /* the first record's size */
    int uniform;             /* every record is of record_size bytes; sizes[] unwritten */
    int err;                 /* perf: -ENOMEM if a record could not be kept */
};

#define PYBPF_RING_BATCH_FULL (-4000)

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

/* Room for one more record of `padded` bytes: the rare path, kept out of
 * pybpf_batch_add so that its common path stays a few stores. */
static __attribute__((noinline)) int pybpf_batch_reserve(struct pybpf_batch *b, size_t padded)
{
    size_t cap_count = b->cap_count;

    if (pybpf_batch_grow((void **)&b->data, &b->cap, b->len + padded, 1, 1 << 16))
        return -ENOMEM;
    if (pybpf_batch_grow((void **)&b->sizes, &cap_count, b->count + 1, sizeof(*b->sizes), 4096))
        return -ENOMEM;
    b->cap_count = cap_count;
    return 0;
}

/* The first record of another size than those before it: sizes[] from now on. */
static __attribute__((noinline)) void pybpf_batch_mixed(struct pybpf_batch *b)
{
    for (size_t i = 0; i < b->count; i++)
        b->sizes[i] = (__u32)b->record_size;
    b->uniform = 0;
}

/* A record into its padded slot.  Records of 8 to 16 bytes, the size where
 * the per-record cost shows most, take two fixed-size copies instead of a
 * call of memcpy. */
static inline void pybpf_copy_record(char *slot, const char *sample, size_t size, size_t padded)
{
    __u64 head, tail;

    if (size >= 8 && size <= 16) {
        memcpy(&head, sample, 8);
        memcpy(&tail, sample + size - 8, 8);
        if (padded == 16)
            memset(slot + 8, 0, 8);
        memcpy(slot + size - 8, &tail, 8);
        memcpy(slot, &head, 8);
        return;
    }
    if (padded)
        memset(slot + padded - 8, 0, 8); /* the padding: one store, before the record's bytes */
    memcpy(slot, sample, size);
}

/* Any record that pybpf_batch_add's common path does not take: the first of
 * a batch, one that needs more room, one of another size. */
static __attribute__((noinline)) int pybpf_batch_add_slow(struct pybpf_batch *b, int cpu, const void *sample,
                                                          size_t size)
{
    size_t padded = (size + 7) & ~(size_t)7;

    if ((b->len + padded > b->cap || b->count >= b->cap_count) && pybpf_batch_reserve(b, padded))
        return -ENOMEM;
    if (!b->count)
        b->cpu_runs_len = 0;
    if (b->with_cpus && (!b->count || cpu != b->cpu_runs[b->cpu_runs_len - 1].cpu)) {
        if (pybpf_batch_grow((void **)&b->cpu_runs, &b->cpu_runs_cap, b->cpu_runs_len + 1, sizeof(*b->cpu_runs), 16))
            return -ENOMEM;
        b->cpu_runs[b->cpu_runs_len++] = (struct pybpf_cpu_run){ .start = b->count, .cpu = cpu };
    }
    if (!b->count) {
        b->record_size = size;
        b->uniform = 1;
    } else if (size != b->record_size && b->uniform) {
        pybpf_batch_mixed(b);
    }
    if (!b->uniform)
        b->sizes[b->count] = (__u32)size;
    pybpf_copy_record(b->data + b->len, sample, size, padded);
    b->count++;
    b->len += padded;
    return 0;
}

/* Called once per record by libbpf: measured against a C callback that only
 * reads the record, every instruction here shows (issue 17).  The common
 * path, a record of the batch's size and of the last record's CPU, with room
 * for it, calls nothing, so that the compiler saves no registers for it. */
static inline int pybpf_batch_add(struct pybpf_batch *b, int cpu, const void *sample, size_t size)
{
    size_t padded = (size + 7) & ~(size_t)7;
    size_t len = b->len, count = b->count;

    if (__builtin_expect(!b->uniform || !count || size != b->record_size || len + padded > b->cap ||
                             count >= b->cap_count || (b->with_cpus && cpu != b->cpu_runs[b->cpu_runs_len - 1].cpu),
                         0))
        return pybpf_batch_add_slow(b, cpu, sample, size);
    pybpf_copy_record(b->data + len, sample, size, padded);
    b->count = count + 1;
    b->len = len + padded;
    return 0;
}

/* ring_buffer_sample_fn: the record is consumed either way; a full batch
 * ends this consume (libbpf returns our code) so Python can decode it. */
static int pybpf_ring_collect(void *ctx, void *sample, size_t size)
{
    struct pybpf_batch *b = ctx;

    if (pybpf_batch_add(b, -1, sample, size))
        return -ENOMEM;
    return b->len >= b->limit ? PYBPF_RING_BATCH_FULL : 0;
}

/* perf_buffer_sample_fn and perf_buffer_lost_fn: they cannot stop libbpf,
 * so a failure is remembered for Python to raise.  A consume reads at most
 * what each CPU's buffer holds, which bounds the batch. */
static void pybpf_perf_collect(void *ctx, int cpu, void *data, __u32 size)
{
    struct pybpf_batch *b = ctx;

    if (pybpf_batch_add(b, cpu, data, size))
        b->err = -ENOMEM;
}

static void pybpf_perf_lost(void *ctx, int cpu, __u64 count)
{
    struct pybpf_batch *b = ctx;

    if (pybpf_batch_grow((void **)&b->lost, &b->lost_cap, b->lost_len + 1, sizeof(*b->lost), 16)) {
        b->err = -ENOMEM;
        return;
    }
    b->lost[b->lost_len++] = (struct pybpf_lost_report){ .before = b->count, .count = count, .cpu = cpu };
}

/* The collectors' addresses for libbpf, read from Python as plain function
 * pointers: ffi.addressof(lib, ...) would give cffi's wrapper around them,
 * one more call per record. */
static ring_buffer_sample_fn pybpf_ring_collect_fn = pybpf_ring_collect;
static perf_buffer_sample_fn pybpf_perf_collect_fn = pybpf_perf_collect;
static perf_buffer_lost_fn pybpf_perf_lost_fn = pybpf_perf_lost;

static void pybpf_batch_free(struct pybpf_batch *b)
{
    free(b->data);
    free(b->sizes);
    free(b->cpu_runs);
    free(b->lost);
    memset(b, 0, sizeof(*b));
}


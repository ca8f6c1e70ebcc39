/* Ring and perf buffer records collected in C: libbpf calls back per record,
 * and Python decodes the whole batch after the consume.  A C-to-Python
 * callback per record would cost far more than the record (measured ~0.5 us
 * each).  Each record's data is stored padded to 8 bytes, its size in
 * sizes[] and, for perf buffers, its CPU in cpus[].  A perf buffer's reports
 * of lost records are kept apart, each with the number of records before it,
 * so that a loss leaves the records one uniform run that Python decodes in
 * one pass: the batch that follows a loss is the one that must be fastest. */
struct pybpf_lost_report {
    __u64 before; /* records collected before this report */
    __u64 count;
    int cpu;
};

struct pybpf_batch {
    char *data;
    __u32 *sizes;
    int *cpus;               /* NULL unless with_cpus */
    size_t len, cap;         /* bytes of data used / allocated */
    size_t count, cap_count; /* records / slots in sizes (and cpus) */
    size_t limit;            /* ring: stop the consume once len reaches this */
    struct pybpf_lost_report *lost; /* perf: reports of lost records */
    size_t lost_len, lost_cap;
    int with_cpus;
    int uniform;             /* every record is of sizes[0] bytes */
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

static int pybpf_batch_add(struct pybpf_batch *b, int cpu, const void *sample, size_t size)
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
    b->uniform = b->count ? b->uniform && b->sizes[0] == size : 1;
    b->sizes[b->count++] = (__u32)size;
    b->len += padded;
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

static void pybpf_batch_free(struct pybpf_batch *b)
{
    free(b->data);
    free(b->sizes);
    free(b->cpus);
    free(b->lost);
    memset(b, 0, sizeof(*b));
}


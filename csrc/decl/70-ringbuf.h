/* BPF ring buffers (BPF_MAP_TYPE_RINGBUF), consumed through libbpf's epoll loop. */
struct ring_buffer;
struct ring;
typedef int (*ring_buffer_sample_fn)(void *ctx, void *data, size_t size);
struct ring_buffer_opts { size_t sz; };

struct ring_buffer *ring_buffer__new(int map_fd, ring_buffer_sample_fn sample_cb, void *ctx,
                                     const struct ring_buffer_opts *opts);
void ring_buffer__free(struct ring_buffer *rb);
int ring_buffer__add(struct ring_buffer *rb, int map_fd, ring_buffer_sample_fn sample_cb, void *ctx);
int ring_buffer__poll(struct ring_buffer *rb, int timeout_ms);
int ring_buffer__consume(struct ring_buffer *rb);
int ring_buffer__epoll_fd(const struct ring_buffer *rb);

/* One ring of a ring_buffer (libbpf >= 1.3; csrc/gates.c stubs them before,
   with PYBPF_HAS_RING_API 0). */
#define PYBPF_HAS_RING_API ...
struct ring *ring_buffer__ring(struct ring_buffer *rb, unsigned int idx);
size_t ring__avail_data_size(const struct ring *r);
size_t ring__size(const struct ring *r);
int ring__consume(struct ring *r);

/* Records are collected in C (csrc/helpers.c) and decoded by Python per
   batch: pass pybpf_ring_collect_fn as the sample callback and a batch as ctx.
   Perf buffers (75-perfbuf.h) use the same batch, with CPUs, and keep
   their reports of lost records apart. */
struct pybpf_lost_report {
    __u64 before;
    __u64 count;
    int cpu;
};
struct pybpf_cpu_run {
    __u64 start;
    int cpu;
};
struct pybpf_batch {
    char *data;
    __u32 *sizes;
    struct pybpf_cpu_run *cpu_runs;
    size_t cpu_runs_len;
    size_t len;
    size_t count;
    size_t limit;
    struct pybpf_lost_report *lost;
    size_t lost_len;
    int with_cpus;
    size_t record_size;
    int uniform;
    int err;
    ...;
};
#define PYBPF_RING_BATCH_FULL ...
int pybpf_ring_collect(void *ctx, void *sample, size_t size);
extern ring_buffer_sample_fn pybpf_ring_collect_fn;
void pybpf_batch_free(struct pybpf_batch *b);

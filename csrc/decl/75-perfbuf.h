/* Perf buffers (BPF_MAP_TYPE_PERF_EVENT_ARRAY): one perf ring per CPU that
   bpf_perf_event_output writes, consumed through libbpf's epoll loop. */
struct perf_buffer;
typedef void (*perf_buffer_sample_fn)(void *ctx, int cpu, void *data, __u32 size);
typedef void (*perf_buffer_lost_fn)(void *ctx, int cpu, __u64 cnt);
struct perf_buffer_opts { size_t sz; ...; };

struct perf_buffer *perf_buffer__new(int map_fd, size_t page_cnt, perf_buffer_sample_fn sample_cb,
                                     perf_buffer_lost_fn lost_cb, void *ctx, const struct perf_buffer_opts *opts);
void perf_buffer__free(struct perf_buffer *pb);
int perf_buffer__poll(struct perf_buffer *pb, int timeout_ms);
int perf_buffer__consume(struct perf_buffer *pb);
int perf_buffer__epoll_fd(const struct perf_buffer *pb);
size_t perf_buffer__buffer_cnt(const struct perf_buffer *pb);

/* Samples and lost-sample reports are collected into a struct pybpf_batch
   (70-ringbuf.h) given as ctx, with the CPU of each. */
void pybpf_perf_collect(void *ctx, int cpu, void *data, __u32 size);
void pybpf_perf_lost(void *ctx, int cpu, __u64 count);
extern perf_buffer_sample_fn pybpf_perf_collect_fn;
extern perf_buffer_lost_fn pybpf_perf_lost_fn;

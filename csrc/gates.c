/* Build-time gates: libbpf functions newer than the oldest supported libbpf
 * (1.1).  Each gate is a PYBPF_HAS_* constant the Python side checks before
 * use; when the installed libbpf lacks the functions, stubs that fail with
 * EOPNOTSUPP stand in so the cdef stays the same on every version. */
#define PYBPF_LIBBPF_AT_LEAST(major, minor) \
    (LIBBPF_MAJOR_VERSION > (major) || (LIBBPF_MAJOR_VERSION == (major) && LIBBPF_MINOR_VERSION >= (minor)))

/* libbpf 1.3: one ring of a ring_buffer (pending bytes, consume one ring). */
#if PYBPF_LIBBPF_AT_LEAST(1, 3)
#define PYBPF_HAS_RING_API 1
#else
#define PYBPF_HAS_RING_API 0
struct ring;
static struct ring *ring_buffer__ring(struct ring_buffer *rb, unsigned int idx)
{
    (void)rb; (void)idx;
    errno = EOPNOTSUPP;
    return NULL;
}
static size_t ring__avail_data_size(const struct ring *r) { (void)r; return 0; }
static size_t ring__size(const struct ring *r) { (void)r; return 0; }
static int ring__consume(struct ring *r) { (void)r; return -EOPNOTSUPP; }
#endif

/* libbpf 1.2: netfilter links (bpf_program__attach_netfilter). */
#if PYBPF_LIBBPF_AT_LEAST(1, 2)
#define PYBPF_HAS_NETFILTER 1
#else
#define PYBPF_HAS_NETFILTER 0
struct bpf_netfilter_opts {
    size_t sz;
    __u32 pf;
    __u32 hooknum;
    __s32 priority;
    __u32 flags;
};
static struct bpf_link *bpf_program__attach_netfilter(const struct bpf_program *prog,
                                                      const struct bpf_netfilter_opts *opts)
{
    (void)prog; (void)opts;
    errno = EOPNOTSUPP;
    return NULL;
}
#endif

/* Map syscalls through a guard (20-handle.c): each enters the map's guard,
 * makes the syscall, and leaves; -EBADF once the map is closed.
 *
 * The integer fast paths take the key and value by value, so Python fills no
 * shared buffer and the helpers are safe to call from several threads.  The
 * guard carries the key and value widths (set by pybpf_guard_ints).
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

/* Enable the integer fast paths: 0, or -1 if a width is not 1..8 bytes. */
static int pybpf_guard_ints(struct pybpf_guard *g, int key_size, int value_size)
{
    if (key_size < 1 || key_size > 8 || value_size < 1 || value_size > 8)
        return -1;
    g->key_size = key_size;
    g->value_size = value_size;
    return 0;
}

#define GUARDED(g, call)                           \
    do {                                           \
        int guarded_ret_ = pybpf_guard_enter(g);   \
        if (guarded_ret_)                          \
            return guarded_ret_;                   \
        guarded_ret_ = (call);                     \
        pybpf_guard_leave(g);                      \
        return guarded_ret_;                       \
    } while (0)

static int pybpf_map_lookup(struct pybpf_guard *g, const void *key, void *value)
{
    GUARDED(g, bpf_map_lookup_elem(g->fd, key, value));
}

static int pybpf_map_update(struct pybpf_guard *g, const void *key, const void *value, __u64 flags)
{
    GUARDED(g, bpf_map_update_elem(g->fd, key, value, flags));
}

static int pybpf_map_delete(struct pybpf_guard *g, const void *key)
{
    GUARDED(g, bpf_map_delete_elem(g->fd, key));
}

static int pybpf_map_lookup_and_delete(struct pybpf_guard *g, const void *key, void *value)
{
    GUARDED(g, bpf_map_lookup_and_delete_elem(g->fd, key, value));
}

static int pybpf_map_next_key(struct pybpf_guard *g, const void *key, void *next_key)
{
    GUARDED(g, bpf_map_get_next_key(g->fd, key, next_key));
}

static int pybpf_map_lookup_batch(struct pybpf_guard *g, void *in_batch, void *out_batch, void *keys,
                                  void *values, __u32 *count, const struct bpf_map_batch_opts *opts)
{
    GUARDED(g, bpf_map_lookup_batch(g->fd, in_batch, out_batch, keys, values, count, opts));
}

static int pybpf_map_lookup_and_delete_batch(struct pybpf_guard *g, void *in_batch, void *out_batch, void *keys,
                                             void *values, __u32 *count, const struct bpf_map_batch_opts *opts)
{
    GUARDED(g, bpf_map_lookup_and_delete_batch(g->fd, in_batch, out_batch, keys, values, count, opts));
}

static int pybpf_map_update_batch(struct pybpf_guard *g, const void *keys, const void *values, __u32 *count,
                                  const struct bpf_map_batch_opts *opts)
{
    GUARDED(g, bpf_map_update_batch(g->fd, keys, values, count, opts));
}

static int pybpf_map_delete_batch(struct pybpf_guard *g, const void *keys, __u32 *count,
                                  const struct bpf_map_batch_opts *opts)
{
    GUARDED(g, bpf_map_delete_batch(g->fd, keys, count, opts));
}

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
static int pybpf_lookup_raw(struct pybpf_guard *g, unsigned long long key, unsigned long long *v)
{
    unsigned long long k;
    int err = pybpf_put_int(key, g->key_size, &k);

    return err ? err : pybpf_map_lookup(g, &k, v);
}

/* A lookup's result as the integer helpers return it: the value, or the
 * sentinel with -errno recorded (0 when the sentinel is the real value). */
static unsigned long long pybpf_uint_result(struct pybpf_guard *g, int err, const unsigned long long *v)
{
    unsigned long long out;

    if (err) {
        pybpf_errno_tls = err;
        return ~0ULL;
    }
    out = pybpf_get_uint(v, g->value_size);
    if (out == ~0ULL)
        pybpf_errno_tls = 0;
    return out;
}

static long long pybpf_sint_result(struct pybpf_guard *g, int err, const unsigned long long *v)
{
    long long out;

    if (err) {
        pybpf_errno_tls = err;
        return LLONG_MIN;
    }
    out = pybpf_get_sint(v, g->value_size);
    if (out == LLONG_MIN)
        pybpf_errno_tls = 0;
    return out;
}

static unsigned long long pybpf_lookup_uint(struct pybpf_guard *g, unsigned long long key)
{
    unsigned long long v;

    return pybpf_uint_result(g, pybpf_lookup_raw(g, key, &v), &v);
}

static long long pybpf_lookup_sint(struct pybpf_guard *g, unsigned long long key)
{
    unsigned long long v;

    return pybpf_sint_result(g, pybpf_lookup_raw(g, key, &v), &v);
}

/* Integer values under keys that Python lays out (a packed struct key). */
static int pybpf_guard_int_values(struct pybpf_guard *g, int value_size)
{
    if (value_size < 1 || value_size > 8)
        return -1;
    g->value_size = value_size;
    return 0;
}

static unsigned long long pybpf_lookup_key_uint(struct pybpf_guard *g, const void *key)
{
    unsigned long long v;

    return pybpf_uint_result(g, pybpf_map_lookup(g, key, &v), &v);
}

static long long pybpf_lookup_key_sint(struct pybpf_guard *g, const void *key)
{
    unsigned long long v;

    return pybpf_sint_result(g, pybpf_map_lookup(g, key, &v), &v);
}

static int pybpf_update_int(struct pybpf_guard *g, unsigned long long key, unsigned long long value, __u64 flags)
{
    unsigned long long k, v;
    int err = pybpf_put_int(key, g->key_size, &k);

    if (!err)
        err = pybpf_put_int(value, g->value_size, &v);
    return err ? err : pybpf_map_update(g, &k, &v, flags);
}

static int pybpf_delete_int(struct pybpf_guard *g, unsigned long long key)
{
    unsigned long long k;
    int err = pybpf_put_int(key, g->key_size, &k);

    return err ? err : pybpf_map_delete(g, &k);
}

/* 1 if the key is in the map, 0 if not, else -errno (-ERANGE: the key does
 * not fit the map's keys). */
static int pybpf_contains_int(struct pybpf_guard *g, unsigned long long key)
{
    unsigned long long v;
    int err = pybpf_lookup_raw(g, key, &v);

    return err == -ENOENT ? 0 : err ? err : 1;
}

/* Per-CPU integer values: one lookup into a buffer of this thread's, then each
 * CPU's slot (8 bytes apart, value_size of them used) widened in place to a
 * 64-bit integer, so Python reads the list in one unpack.  The buffer lives
 * until the thread's next call, and is freed when the thread exits. */
static pthread_key_t pybpf_percpu_key;
static pthread_once_t pybpf_percpu_once = PTHREAD_ONCE_INIT;

static void pybpf_percpu_make_key(void)
{
    pthread_key_create(&pybpf_percpu_key, free);
}

struct pybpf_percpu_buf {
    size_t cap;
    unsigned long long slots[];
};

static unsigned long long *pybpf_percpu_slots(int ncpus)
{
    struct pybpf_percpu_buf *buf;

    pthread_once(&pybpf_percpu_once, pybpf_percpu_make_key);
    buf = pthread_getspecific(pybpf_percpu_key);
    if (!buf || buf->cap < (size_t)ncpus) {
        struct pybpf_percpu_buf *grown = realloc(buf, sizeof(*buf) + sizeof(buf->slots[0]) * ncpus);

        if (!grown)
            return NULL;
        grown->cap = ncpus;
        buf = grown;
        if (pthread_setspecific(pybpf_percpu_key, buf)) {
            free(buf);
            return NULL;
        }
    }
    return buf->slots;
}

/* The ncpus values of key, widened; NULL with -errno in pybpf_last_error(). */
static void *pybpf_lookup_percpu(struct pybpf_guard *g, unsigned long long key, int ncpus, int is_signed)
{
    unsigned long long k, *slots = ncpus > 0 ? pybpf_percpu_slots(ncpus) : NULL;
    int err = slots ? pybpf_put_int(key, g->key_size, &k) : -ENOMEM;

    if (!err)
        err = pybpf_map_lookup(g, &k, slots);
    if (err) {
        pybpf_errno_tls = err;
        return NULL;
    }
    for (int i = 0; i < ncpus; i++) {
        if (is_signed)
            slots[i] = (unsigned long long)pybpf_get_sint(&slots[i], g->value_size);
        else
            slots[i] = pybpf_get_uint(&slots[i], g->value_size);
    }
    return slots;
}

static unsigned long long *pybpf_lookup_percpu_uint(struct pybpf_guard *g, unsigned long long key, int ncpus)
{
    return pybpf_lookup_percpu(g, key, ncpus, 0);
}

static long long *pybpf_lookup_percpu_sint(struct pybpf_guard *g, unsigned long long key, int ncpus)
{
    return pybpf_lookup_percpu(g, key, ncpus, 1);
}


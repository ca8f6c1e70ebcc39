/* bpf_map: an object's map definitions (before load) and the map syscalls. */
const char *bpf_map__name(const struct bpf_map *map);
int bpf_map__fd(const struct bpf_map *map);
enum bpf_map_type bpf_map__type(const struct bpf_map *map);
__u32 bpf_map__key_size(const struct bpf_map *map);
__u32 bpf_map__value_size(const struct bpf_map *map);
__u32 bpf_map__max_entries(const struct bpf_map *map);
int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries);
/* Pre-load settings beyond max_entries: what tools size at run time. */
int bpf_map__set_type(struct bpf_map *map, enum bpf_map_type type);
int bpf_map__set_key_size(struct bpf_map *map, __u32 size);
int bpf_map__set_value_size(struct bpf_map *map, __u32 size);
__u32 bpf_map__numa_node(const struct bpf_map *map);
int bpf_map__set_numa_node(struct bpf_map *map, __u32 numa_node);
__u64 bpf_map__map_extra(const struct bpf_map *map);
int bpf_map__set_map_extra(struct bpf_map *map, __u64 map_extra);
int bpf_map__reuse_fd(struct bpf_map *map, int fd);
bool bpf_map__autocreate(const struct bpf_map *map);
int bpf_map__set_autocreate(struct bpf_map *map, bool autocreate);
__u32 bpf_map__map_flags(const struct bpf_map *map);
int bpf_map__set_map_flags(struct bpf_map *map, __u32 flags);
__u32 bpf_map__btf_key_type_id(const struct bpf_map *map);
__u32 bpf_map__btf_value_type_id(const struct bpf_map *map);
bool bpf_map__is_internal(const struct bpf_map *map);
void *bpf_map__initial_value(struct bpf_map *map, size_t *psize);
/* Pinning of an object's maps: at load (pin path or LIBBPF_PIN_BY_NAME under
   the object's pin root), reusing a compatible pinned map. */
const char *bpf_map__pin_path(const struct bpf_map *map);
int bpf_map__set_pin_path(struct bpf_map *map, const char *path);
bool bpf_map__is_pinned(const struct bpf_map *map);
int bpf_map__pin(struct bpf_map *map, const char *path);
int bpf_map__unpin(struct bpf_map *map, const char *path);
/* Map-in-map: the inner-map template (from __array(values, ...)) or a live map as one. */
struct bpf_map *bpf_map__inner_map(struct bpf_map *map);
int bpf_map__set_inner_map_fd(struct bpf_map *map, int fd);

struct bpf_map_create_opts {
    size_t sz;
    __u32 btf_fd;
    __u32 btf_key_type_id;
    __u32 btf_value_type_id;
    __u32 inner_map_fd;
    __u32 map_flags;
    __u64 map_extra;
    ...;
};
/* Two creation flags, to check pybpf.MapFlags against the headers. */
#define BPF_F_NO_PREALLOC ...
#define BPF_F_MMAPABLE ...

int bpf_map_create(enum bpf_map_type map_type, const char *map_name,
                   __u32 key_size, __u32 value_size, __u32 max_entries,
                   const struct bpf_map_create_opts *opts);

int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags);
int bpf_map_lookup_elem(int fd, const void *key, void *value);
int bpf_map_lookup_elem_flags(int fd, const void *key, void *value, __u64 flags);
int bpf_map_lookup_and_delete_elem(int fd, const void *key, void *value);
int bpf_map_delete_elem(int fd, const void *key);
int bpf_map_get_next_key(int fd, const void *key, void *next_key);

struct bpf_map_batch_opts {
    size_t sz;
    __u64 elem_flags;
    __u64 flags;
    ...;
};
int bpf_map_delete_batch(int fd, const void *keys, __u32 *count, const struct bpf_map_batch_opts *opts);
int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, __u32 *count, const struct bpf_map_batch_opts *opts);
int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, __u32 *count, const struct bpf_map_batch_opts *opts);
int bpf_map_update_batch(int fd, const void *keys, const void *values, __u32 *count, const struct bpf_map_batch_opts *opts);

int bpf_map_get_fd_by_id(__u32 id);
int bpf_map_get_next_id(__u32 start_id, __u32 *next_id);

/* The kernel's description of a live map (BPF_OBJ_GET_INFO_BY_FD). */
struct bpf_map_info {
    __u32 type;
    __u32 id;
    __u32 key_size;
    __u32 value_size;
    __u32 max_entries;
    __u32 map_flags;
    char name[16];
    __u32 btf_id;
    __u32 btf_key_type_id;
    __u32 btf_value_type_id;
    __u64 map_extra;
    ...;
};
int bpf_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len);

/* Map syscalls through the map's guard (csrc/helpers/30-map.c): -EBADF once
   the map is closed, and close() waits for the calls in flight. */
int pybpf_map_lookup(struct pybpf_guard *g, const void *key, void *value);
int pybpf_map_update(struct pybpf_guard *g, const void *key, const void *value, __u64 flags);
int pybpf_map_delete(struct pybpf_guard *g, const void *key);
int pybpf_map_lookup_and_delete(struct pybpf_guard *g, const void *key, void *value);
int pybpf_map_next_key(struct pybpf_guard *g, const void *key, void *next_key);
int pybpf_map_lookup_batch(struct pybpf_guard *g, void *in_batch, void *out_batch, void *keys, void *values,
                           __u32 *count, const struct bpf_map_batch_opts *opts);
int pybpf_map_lookup_and_delete_batch(struct pybpf_guard *g, void *in_batch, void *out_batch, void *keys,
                                      void *values, __u32 *count, const struct bpf_map_batch_opts *opts);
int pybpf_map_update_batch(struct pybpf_guard *g, const void *keys, const void *values, __u32 *count,
                           const struct bpf_map_batch_opts *opts);
int pybpf_map_delete_batch(struct pybpf_guard *g, const void *keys, __u32 *count,
                           const struct bpf_map_batch_opts *opts);

/* Integer fast paths: keys and values travel by value, the map by its guard,
   whose widths pybpf_guard_ints() sets (-1 if they do not fit 1..8 bytes).
   A failed lookup returns all ones (LLONG_MIN when signed) and sets
   pybpf_last_error() to -errno; a real value equal to that sets it to 0. */
int pybpf_guard_ints(struct pybpf_guard *g, int key_size, int value_size);
unsigned long long pybpf_lookup_uint(struct pybpf_guard *g, unsigned long long key);
long long pybpf_lookup_sint(struct pybpf_guard *g, unsigned long long key);
int pybpf_last_error(void);
int pybpf_update_int(struct pybpf_guard *g, unsigned long long key, unsigned long long value, __u64 flags);
int pybpf_delete_int(struct pybpf_guard *g, unsigned long long key);
/* Integer values (1..8 bytes, set by pybpf_guard_int_values) under keys
   laid out by the caller (packed struct keys); results as pybpf_lookup_uint's. */
int pybpf_guard_int_values(struct pybpf_guard *g, int value_size);
unsigned long long pybpf_lookup_key_uint(struct pybpf_guard *g, const void *key);
long long pybpf_lookup_key_sint(struct pybpf_guard *g, const void *key);
/* Per-CPU integer values of an integer key, each widened to 64 bits, in a
   buffer of the calling thread's (valid until its next call); NULL and
   pybpf_last_error() on failure.  The guard's widths are pybpf_guard_ints'. */
unsigned long long *pybpf_lookup_percpu_uint(struct pybpf_guard *g, unsigned long long key, int ncpus);
long long *pybpf_lookup_percpu_sint(struct pybpf_guard *g, unsigned long long key, int ncpus);
/* 1 if the key is in the map, 0 if not, else -errno. */
int pybpf_contains_int(struct pybpf_guard *g, unsigned long long key);

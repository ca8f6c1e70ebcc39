/* bpf_object: open, configure, load, walk programs and maps. */
struct bpf_object_open_opts {
    size_t sz;
    const char *object_name;
    const char *pin_root_path;
    ...;
};

struct bpf_object *bpf_object__open_file(const char *path, const struct bpf_object_open_opts *opts);
struct bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz, const struct bpf_object_open_opts *opts);
int bpf_object__load(struct bpf_object *obj);
void bpf_object__close(struct bpf_object *obj);
const char *bpf_object__name(const struct bpf_object *obj);
struct btf *bpf_object__btf(const struct bpf_object *obj);

struct bpf_program *bpf_object__next_program(const struct bpf_object *obj, struct bpf_program *prog);
struct bpf_map *bpf_object__next_map(const struct bpf_object *obj, const struct bpf_map *map);

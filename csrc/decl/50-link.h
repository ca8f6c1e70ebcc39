/* bpf_link: attaching programs; a link's fd keeps the attachment alive. */
struct bpf_link *bpf_program__attach(const struct bpf_program *prog);
struct bpf_link *bpf_program__attach_xdp(const struct bpf_program *prog, int ifindex);
struct bpf_link *bpf_program__attach_tracepoint(const struct bpf_program *prog, const char *tp_category, const char *tp_name);
struct bpf_link *bpf_program__attach_raw_tracepoint(const struct bpf_program *prog, const char *tp_name);
struct bpf_link *bpf_program__attach_netns(const struct bpf_program *prog, int netns_fd);
struct bpf_link *bpf_program__attach_cgroup(const struct bpf_program *prog, int cgroup_fd);
int bpf_link__fd(const struct bpf_link *link);
int bpf_link_get_fd_by_id(__u32 id);
int bpf_link_get_next_id(__u32 start_id, __u32 *next_id);
int bpf_link__pin(struct bpf_link *link, const char *path);
int bpf_link__destroy(struct bpf_link *link);

struct bpf_link_create_opts {
    size_t sz;
    __u32 flags;
    ...;
};
/* Attachments without a link (sockmap, lirc): bpf(BPF_PROG_ATTACH / BPF_PROG_DETACH). */
int bpf_prog_attach(int prog_fd, int attachable_fd, enum bpf_attach_type type, unsigned int flags);
int bpf_prog_detach2(int prog_fd, int attachable_fd, enum bpf_attach_type type);
int bpf_link_create(int prog_fd, int target_fd, enum bpf_attach_type attach_type, const struct bpf_link_create_opts *opts);

/* Pinning any BPF object (map, program, link) in bpffs. */
int bpf_obj_pin(int fd, const char *pathname);
int bpf_obj_get(const char *pathname);

/* XDP attach modes (linux/if_link.h), passed as bpf_link_create flags. */
#define XDP_FLAGS_SKB_MODE ...
#define XDP_FLAGS_DRV_MODE ...

/* Kernel function hooks: fentry/fexit/fmod_ret (BPF trampolines), LSM, kprobes. */
struct bpf_link *bpf_program__attach_trace(const struct bpf_program *prog);
struct bpf_link *bpf_program__attach_lsm(const struct bpf_program *prog);
/* freplace (EXT): replace a global function of a loaded BPF program. */
struct bpf_link *bpf_program__attach_freplace(const struct bpf_program *prog, int target_fd,
                                              const char *attach_func_name);
struct bpf_kprobe_opts {
    size_t sz;
    __u64 bpf_cookie;
    size_t offset;
    bool retprobe;
    ...;
};
struct bpf_link *bpf_program__attach_kprobe_opts(const struct bpf_program *prog, const char *func_name,
                                                 const struct bpf_kprobe_opts *opts);

/* uprobes: libbpf finds func_name in the binary's (or library's) ELF symbols. */
struct bpf_uprobe_opts {
    size_t sz;
    size_t ref_ctr_offset;
    __u64 bpf_cookie;
    bool retprobe;
    const char *func_name;
    ...;
};
struct bpf_link *bpf_program__attach_uprobe_opts(const struct bpf_program *prog, int pid, const char *binary_path,
                                                 size_t func_offset, const struct bpf_uprobe_opts *opts);

/* USDT: libbpf reads the binary's .note.stapsdt notes and fills its spec map. */
struct bpf_usdt_opts {
    size_t sz;
    __u64 usdt_cookie;
    ...;
};
struct bpf_link *bpf_program__attach_usdt(const struct bpf_program *prog, int pid, const char *binary_path,
                                          const char *usdt_provider, const char *usdt_name,
                                          const struct bpf_usdt_opts *opts);

/* tc before TCX (6.6): a direct-action cls_bpf filter in the clsact qdisc. */
enum bpf_tc_attach_point { BPF_TC_INGRESS = 1, BPF_TC_EGRESS = 2, BPF_TC_CUSTOM = 4 };
struct bpf_tc_hook {
    size_t sz;
    int ifindex;
    enum bpf_tc_attach_point attach_point;
    __u32 parent;
    ...;
};
struct bpf_tc_opts {
    size_t sz;
    int prog_fd;
    __u32 flags;
    __u32 prog_id;
    __u32 handle;
    __u32 priority;
    ...;
};
int bpf_tc_hook_create(struct bpf_tc_hook *hook);
int bpf_tc_attach(const struct bpf_tc_hook *hook, struct bpf_tc_opts *opts);
int bpf_tc_detach(const struct bpf_tc_hook *hook, const struct bpf_tc_opts *opts);

/* perf events: csrc/helpers.c opens one; the link owns its fd. */
int pybpf_perf_event_open(__u32 type, __u64 config, __u64 period, int freq, int pid, int cpu);
struct bpf_link *bpf_program__attach_perf_event(const struct bpf_program *prog, int pfd);

/* BPF iterators: the link, then a readable fd per pass. */
union bpf_iter_link_info {
    struct { __u32 map_fd; } map;
    ...;
};
struct bpf_iter_attach_opts {
    size_t sz;
    union bpf_iter_link_info *link_info;
    __u32 link_info_len;
    ...;
};
struct bpf_link *bpf_program__attach_iter(const struct bpf_program *prog, const struct bpf_iter_attach_opts *opts);
int bpf_iter_create(int link_fd);

/* netfilter hooks (6.4+; libbpf 1.2, PYBPF_HAS_NETFILTER 0 before). */
#define PYBPF_HAS_NETFILTER ...
struct bpf_netfilter_opts {
    size_t sz;
    __u32 pf;
    __u32 hooknum;
    __s32 priority;
    __u32 flags;
    ...;
};
struct bpf_link *bpf_program__attach_netfilter(const struct bpf_program *prog, const struct bpf_netfilter_opts *opts);

/* STRUCT_OPS maps: registering one with the kernel. */
struct bpf_link *bpf_map__attach_struct_ops(const struct bpf_map *map);

/* What the kernel says of a link; replacing its program. */
struct bpf_link_info {
    __u32 type;
    __u32 id;
    __u32 prog_id;
    ...;
};
int bpf_link_update(int link_fd, int new_prog_fd, const void *opts);

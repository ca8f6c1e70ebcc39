/* bpf_program: the programs of an object, their settings and test runs. */
const char *bpf_program__name(const struct bpf_program *prog);
const char *bpf_program__section_name(const struct bpf_program *prog);
int bpf_program__fd(const struct bpf_program *prog);
enum bpf_prog_type bpf_program__type(const struct bpf_program *prog);
enum bpf_attach_type bpf_program__expected_attach_type(const struct bpf_program *prog);
bool bpf_program__autoload(const struct bpf_program *prog);
int bpf_program__set_autoload(struct bpf_program *prog, bool autoload);
int bpf_program__set_type(struct bpf_program *prog, enum bpf_prog_type type);
int bpf_program__set_expected_attach_type(struct bpf_program *prog, enum bpf_attach_type type);
__u32 bpf_program__log_level(const struct bpf_program *prog);
int bpf_program__set_log_level(struct bpf_program *prog, __u32 log_level);
int bpf_program__set_attach_target(struct bpf_program *prog, int attach_prog_fd, const char *attach_func_name);
__u32 bpf_program__flags(const struct bpf_program *prog);
int bpf_program__set_flags(struct bpf_program *prog, __u32 flags);
const char *bpf_program__log_buf(const struct bpf_program *prog, size_t *log_size);
int bpf_program__set_log_buf(struct bpf_program *prog, char *log_buf, size_t log_size);
bool bpf_program__autoattach(const struct bpf_program *prog);
void bpf_program__set_autoattach(struct bpf_program *prog, bool autoattach);

struct bpf_test_run_opts {
    size_t sz;
    const void *data_in;
    void *data_out;
    __u32 data_size_in;
    __u32 data_size_out;
    const void *ctx_in;
    void *ctx_out;
    __u32 ctx_size_in;
    __u32 ctx_size_out;
    __u32 retval;
    int repeat;
    __u32 duration;
    __u32 flags;
    __u32 cpu;
    ...;
};
int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts *opts);

int bpf_prog_get_fd_by_id(__u32 id);
int bpf_prog_get_next_id(__u32 start_id, __u32 *next_id);

/* Filled by bpf_obj_get_info_by_fd() on a program fd. */
struct bpf_prog_info {
    __u32 type;
    __u32 id;
    __u8 tag[8];
    __u32 jited_prog_len;
    __u32 xlated_prog_len;
    __u64 load_time;
    __u32 nr_map_ids;
    __u64 map_ids;
    char name[16];
    __u64 run_time_ns;
    __u64 run_cnt;
    __u32 verified_insns;
    ...;
};

/* Loading a program from raw instructions: the feature probes' tiny programs. */
struct bpf_insn;
struct bpf_prog_load_opts {
    size_t sz;
    __u32 expected_attach_type;
    __u32 attach_btf_id;
    __u32 log_level;
    __u32 log_size;
    char *log_buf;
    ...;
};
int bpf_prog_load(enum bpf_prog_type prog_type, const char *prog_name, const char *license,
                  const struct bpf_insn *insns, size_t insn_cnt, struct bpf_prog_load_opts *opts);
int libbpf_find_vmlinux_btf_id(const char *name, enum bpf_attach_type attach_type);

/* Run-time statistics for every program, while the returned fd is open. */
enum bpf_stats_type { BPF_STATS_RUN_TIME = 0 };
int bpf_enable_stats(enum bpf_stats_type type);

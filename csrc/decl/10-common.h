/* Library-wide: logging, CPU counts, error strings, version. */
enum libbpf_print_level { LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG };

int libbpf_num_possible_cpus(void);
int libbpf_strerror(int err, char *buf, size_t size);
__u32 libbpf_major_version(void);
__u32 libbpf_minor_version(void);

/* What the running kernel supports: 1 yes, 0 no, <0 the probe failed. */
int libbpf_probe_bpf_map_type(enum bpf_map_type map_type, const void *opts);
int libbpf_probe_bpf_prog_type(enum bpf_prog_type prog_type, const void *opts);
int libbpf_probe_bpf_helper(enum bpf_prog_type prog_type, enum bpf_func_id helper_id, const void *opts);

/* The va_list trampoline (csrc/helpers.c) formats each message and hands it
   to this Python callback. */
extern "Python" void pybpf_on_libbpf_print(int level, const char *msg);
void pybpf_install_print(void);

/* libc's, for attaching by interface name without importing socket. */
unsigned int if_nametoindex(const char *ifname);

#define PYBPF_LIBBPF_MAJOR ...
#define PYBPF_LIBBPF_MINOR ...

/* Kernel integer types and the opaque libbpf handles every other area uses. */
typedef int... __u8;
typedef int... __u16;
typedef int... __u32;
typedef int... __u64;
typedef int... __s32;
typedef int... __s64;

struct bpf_object;
struct bpf_program;
struct bpf_map;
struct bpf_link;
struct btf;

/* Kernel enums are passed as plain ints: the Python layer owns their values
   (pybpf._types), because Debian's uapi headers can be older than the kernel. */
enum bpf_map_type { BPF_MAP_TYPE_UNSPEC, ... };
enum bpf_prog_type { BPF_PROG_TYPE_UNSPEC, ... };
enum bpf_attach_type { BPF_CGROUP_INET_INGRESS, BPF_XDP, ... };
enum bpf_func_id { BPF_FUNC_unspec, ... };

/* The guard of every kernel handle (csrc/helpers/20-handle.c): calls enter
   and leave it; close() shuts it (later calls get -EBADF) and drains it
   (waits for the calls in flight) before the fd is closed. */
struct pybpf_guard {
    int fd;
    int key_size;
    int value_size;
    int closed;
    long users;
};
int pybpf_guard_enter(struct pybpf_guard *g);
void pybpf_guard_leave(struct pybpf_guard *g);
int pybpf_guard_shut(struct pybpf_guard *g);
void pybpf_guard_drain(struct pybpf_guard *g);

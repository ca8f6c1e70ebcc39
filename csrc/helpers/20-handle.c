/* One owner per kernel handle (pybpf/_core/handle.py): a call in flight and
 * close() never race.  Every call that uses a handle's fd (or libbpf
 * pointer) enters the guard first and leaves it after; close() shuts the
 * guard, so later calls fail with -EBADF, then waits until the calls in
 * flight have left before the fd is closed or the pointer freed.  No call
 * can reach an fd number the OS has handed to something else since.
 *
 * The counters are atomics rather than a lock: entering and leaving cost two
 * uncontended atomic operations on the hot map paths.  cffi releases the
 * GIL during every call, so pybpf_guard_drain() waits without holding it. */
struct pybpf_guard {
    int fd;          /* the handle's fd, or -1 */
    int key_size;    /* map fast paths: the key and value widths (1..8), else 0 */
    int value_size;
    int closed;
    long users;      /* calls in flight */
};

static int pybpf_guard_enter(struct pybpf_guard *g)
{
    __atomic_fetch_add(&g->users, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&g->closed, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_sub(&g->users, 1, __ATOMIC_SEQ_CST);
        return -EBADF;
    }
    return 0;
}

static void pybpf_guard_leave(struct pybpf_guard *g)
{
    __atomic_fetch_sub(&g->users, 1, __ATOMIC_SEQ_CST);
}

/* Refuse every later call; 1 for the one caller that shut it. */
static int pybpf_guard_shut(struct pybpf_guard *g)
{
    return !__atomic_exchange_n(&g->closed, 1, __ATOMIC_SEQ_CST);
}

/* Wait until no call is in flight: yield first (a map syscall takes
 * microseconds), then sleep in 100 us steps (a poll may take a while to
 * notice its wake-up). */
static void pybpf_guard_drain(struct pybpf_guard *g)
{
    struct timespec pause = {0, 100000};
    int spins = 0;

    while (__atomic_load_n(&g->users, __ATOMIC_SEQ_CST) > 0) {
        if (spins++ < 100)
            sched_yield();
        else
            nanosleep(&pause, NULL);
    }
}

/* perf_event_open(2) has no libc wrapper and its attr is full of bitfields:
 * build the attr here.  A sample every `period` events (or `freq` samples a
 * second when freq is set); returns the fd or -errno. */
static int pybpf_perf_event_open(__u32 type, __u64 config, __u64 period, int freq, int pid, int cpu)
{
    struct perf_event_attr attr;
    int fd;

    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = type;
    attr.config = config;
    attr.freq = freq ? 1 : 0;
    if (freq)
        attr.sample_freq = period;
    else
        attr.sample_period = period;
    fd = (int)syscall(__NR_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

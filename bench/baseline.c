/* C libbpf baseline for bench/bench.py: the same map operations, timed in C.
 *
 *   baseline lookup N       N single lookups of one u32 -> u64 key
 *   baseline update N       N single updates
 *   baseline dump ENTRIES   fill a hash map, then one full batch lookup
 *   baseline ringbuf N OBJ  fill OBJ's ring with N 8-byte records (its XDP
 *                           program, test_run), then consume them all
 *   baseline perfbuf N OBJ  the same through its perf buffer
 *
 * Prints the nanoseconds per operation (per entry for dump, per record for
 * ringbuf and perfbuf). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Pages per CPU of the perf buffers: 32 MiB hold 1M records of 24 bytes. */
#define PERF_PAGES 8192

static int make_map(__u32 entries)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "pybpf_bench_c", 4, 8, entries, NULL);

	if (fd < 0) {
		fprintf(stderr, "bpf_map_create: %s\n", strerror(-fd));
		exit(1);
	}
	return fd;
}

static int on_record(void *ctx, void *data, size_t size)
{
	*(__u64 *)ctx += *(__u64 *)data;
	return 0;
}

static void on_sample(void *ctx, int cpu, void *data, __u32 size)
{
	on_record(ctx, data, size);
}

/* ns per record of one consume of n records that OBJ's program (produce or
 * produce_perf, run n times by test_run) sent to its ring or perf buffer. */
static double events_ns(long n, const char *path, int perf)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	char packet[64] = { 0 };
	__u64 sum = 0;
	double start, ns;
	int fd;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet), .repeat = n);

	if (!obj || bpf_object__load(obj))
		exit(1);
	prog = bpf_object__find_program_by_name(obj, perf ? "produce_perf" : "produce");
	fd = bpf_object__find_map_fd_by_name(obj, perf ? "bench_perf" : "bench_ring");
	if (perf)
		pb = perf_buffer__new(fd, PERF_PAGES, on_sample, NULL, &sum, NULL);
	else
		rb = ring_buffer__new(fd, on_record, &sum, NULL);
	if (!prog || !(rb || pb) || bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
		exit(1);
	start = now_ns();
	if (perf)
		perf_buffer__consume(pb);
	else
		ring_buffer__consume(rb);
	ns = (now_ns() - start) / n;
	if (sum != (__u64)n * (n - 1) / 2) /* every record, none twice */
		exit(1);
	perf_buffer__free(pb);
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return ns;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1000000;
	__u32 key = 1;
	__u64 value = 42;
	double start, ns;

	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "lookup") || !strcmp(argv[1], "update")) {
		int fd = make_map(16), lookup = !strcmp(argv[1], "lookup");

		bpf_map_update_elem(fd, &key, &value, BPF_ANY);
		start = now_ns();
		for (long i = 0; i < n; i++) {
			int err = lookup ? bpf_map_lookup_elem(fd, &key, &value)
					 : bpf_map_update_elem(fd, &key, &value, BPF_ANY);
			if (err)
				return 1;
		}
		ns = (now_ns() - start) / n;
	} else if (!strcmp(argv[1], "dump")) {
		int fd = make_map(n);
		__u32 chunk = 8192, count, *keys = malloc(sizeof(*keys) * chunk);
		__u64 *values = malloc(sizeof(*values) * chunk), in, out, total = 0;
		int err;

		for (__u32 k = 0; k < n; k++) {
			value = k;
			bpf_map_update_elem(fd, &k, &value, BPF_ANY);
		}
		start = now_ns();
		for (void *inp = NULL;; inp = &in) {
			count = chunk;
			err = bpf_map_lookup_batch(fd, inp, &out, keys, values, &count, NULL);
			total += count;
			if (err == -ENOENT)
				break;
			if (err)
				return 1;
			in = out;
		}
		ns = (now_ns() - start) / n;
		if (total != (__u64)n)
			return 1;
	} else if ((!strcmp(argv[1], "ringbuf") || !strcmp(argv[1], "perfbuf")) && argc > 3) {
		ns = events_ns(n, argv[3], !strcmp(argv[1], "perfbuf"));
	} else {
		return 2;
	}
	printf("%.1f\n", ns);
	return 0;
}

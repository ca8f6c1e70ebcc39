/* C libbpf baseline for bench/bench.py, built as a shared library that the
 * benchmark calls in its own process, on the same maps as the Python sides,
 * so that C, the bare cffi call and pybpf are timed one block after another.
 *
 * Every bench_* function does its operation n times and returns nanoseconds
 * per operation (per entry, per record); a negative return is -errno.
 *
 * Built as a program (-DBASELINE_MAIN) it is the C side of the start-up
 * row: `baseline OBJ IFNAME` opens, loads, attaches the XDP program of OBJ
 * to IFNAME through a link, detaches, closes and exits. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* n lookups of one key: the first key_size bytes of key as it lies in memory
 * (a u32, or a small struct packed into 8 bytes); value_size is what one
 * lookup writes (per-CPU maps: one 8-byte slot per possible CPU). */
double bench_lookup(int fd, long n, unsigned long long key, unsigned int key_size, unsigned int value_size)
{
	unsigned char k[8] = { 0 }, value[4096];
	double start;

	if (value_size > sizeof(value) || key_size > sizeof(k))
		return -E2BIG;
	memcpy(k, &key, key_size);
	start = now_ns();
	for (long i = 0; i < n; i++)
		if (bpf_map_lookup_elem(fd, k, value))
			return -errno;
	return (now_ns() - start) / n;
}

double bench_update(int fd, long n, unsigned int key, unsigned long long value)
{
	double start = now_ns();

	for (long i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY))
			return -errno;
	return (now_ns() - start) / n;
}

/* n pairs of update then delete of one key: ns per pair. */
double bench_update_delete(int fd, long n, unsigned int key, unsigned long long value)
{
	double start = now_ns();

	for (long i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) || bpf_map_delete_elem(fd, &key))
			return -errno;
	return (now_ns() - start) / n;
}

/* One full batch walk of a u32 -> value_size map holding entries entries,
 * chunk entries per syscall (a C tool's 8192, or all of them in one call as
 * pybpf's to_numpy does); with delete, lookup-and-delete: ns per entry. */
double bench_dump(int fd, long entries, unsigned int value_size, unsigned int chunk, int delete)
{
	__u32 count, in, out;
	unsigned int *keys = malloc(sizeof(*keys) * chunk);
	unsigned char *values = malloc((size_t)value_size * chunk);
	long total = 0;
	double start, ns;
	int err;

	if (!keys || !values)
		return -ENOMEM;
	start = now_ns();
	for (void *inp = NULL;; inp = &in) {
		count = chunk;
		err = delete ? bpf_map_lookup_and_delete_batch(fd, inp, &out, keys, values, &count, NULL)
			     : bpf_map_lookup_batch(fd, inp, &out, keys, values, &count, NULL);
		total += count;
		if (err == -ENOENT)
			break;
		if (err) {
			total = err;
			break;
		}
		in = out;
	}
	ns = (now_ns() - start) / entries;
	free(keys);
	free(values);
	if (total != entries)
		return total < 0 ? total : -EIO;
	return ns;
}

/* One batch update of entries keys 0..entries-1 -> u64 values i: ns per entry. */
double bench_update_batch(int fd, long entries)
{
	unsigned int *keys = malloc(sizeof(*keys) * entries);
	unsigned long long *values = malloc(sizeof(*values) * entries);
	__u32 count = entries;
	double start, ns;
	int err;

	if (!keys || !values)
		return -ENOMEM;
	for (long i = 0; i < entries; i++) {
		keys[i] = i;
		values[i] = i;
	}
	start = now_ns();
	err = bpf_map_update_batch(fd, keys, values, &count, NULL);
	ns = (now_ns() - start) / entries;
	free(keys);
	free(values);
	return err ? err : ns;
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

/* ns per record of one consume of the n records that prog_fd's program
 * (run n times by test_run) sends to its ring buffer (perf_pages == 0) or
 * perf buffer of perf_pages pages per CPU, each record one u64 counting
 * from first. */
double bench_events(int map_fd, int prog_fd, long n, int perf_pages, unsigned long long first)
{
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	char packet[64] = { 0 };
	__u64 sum = 0;
	double start, ns;
	int err;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet), .repeat = n);

	if (perf_pages)
		pb = perf_buffer__new(map_fd, perf_pages, on_sample, NULL, &sum, NULL);
	else
		rb = ring_buffer__new(map_fd, on_record, &sum, NULL);
	if (!rb && !pb)
		return -errno;
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		ns = err;
		goto out;
	}
	start = now_ns();
	if (pb)
		perf_buffer__consume(pb);
	else
		ring_buffer__consume(rb);
	ns = (now_ns() - start) / n;
	/* every record, none twice: first + (first + 1) + ... + (first + n - 1) */
	if (sum != (__u64)n * first + (__u64)n * (n - 1) / 2)
		ns = -EIO;
out:
	perf_buffer__free(pb);
	ring_buffer__free(rb);
	return ns;
}

#ifdef BASELINE_MAIN
int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_link *link;
	int ifindex;

	if (argc != 4)
		return 2;
	ifindex = if_nametoindex(argv[3]);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!ifindex || !obj || bpf_object__load(obj))
		return 1;
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	link = prog ? bpf_program__attach_xdp(prog, ifindex) : NULL;
	if (!link)
		return 1;
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return 0;
}
#endif

/* A user-space program for uprobe tests: after a line on stdin it calls
 * pybpf_target_add(i, 1000) argv[1] times and prints the sum.  noinline and
 * used, so the symbol exists and every call goes through it. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline, used)) long pybpf_target_add(long a, long b)
{
	__asm__ volatile("" ::: "memory");
	return a + b;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 1, sum = 0;
	char line[16];

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (long i = 0; i < calls; i++)
		sum += pybpf_target_add(i, 1000);
	printf("%ld\n", sum);
	return 0;
}

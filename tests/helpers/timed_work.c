/* A user-space program for the latency and profile tools' tests: after a
 * line on stdin it calls pybpf_sleep_ms(argv[2]) argv[1] times, or with a
 * third argument "busy", pybpf_busy_ms.  noinline and used, so the symbols
 * exist and every call goes through them. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline, used)) void pybpf_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts))
		;
}

/* Spins for about ms milliseconds: the busy function profile tests find. */
__attribute__((noinline, used)) unsigned long pybpf_busy_ms(long ms)
{
	struct timespec start, now;
	unsigned long spins = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < 10000; i++)
			__asm__ volatile("" : "+r"(spins));
		spins++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
	return spins;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? atol(argv[1]) : 1, ms = argc > 2 ? atol(argv[2]) : 1;
	int busy = argc > 3 && argv[3][0] == 'b';
	char line[16];

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (long i = 0; i < calls; i++) {
		if (busy)
			pybpf_busy_ms(ms);
		else
			pybpf_sleep_ms(ms);
	}
	printf("done\n");
	return 0;
}

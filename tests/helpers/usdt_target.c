/* A user-space program with USDT probes (<sys/sdt.h>, systemtap-sdt-dev):
 * after a line on stdin it fires pybpf:tick(i, i * 10) for i = 1..argv[1],
 * then pybpf:done(argv[1]). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

int main(int argc, char **argv)
{
	long ticks = argc > 1 ? atol(argv[1]) : 1;
	char line[16];

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (long i = 1; i <= ticks; i++)
		DTRACE_PROBE2(pybpf, tick, i, i * 10);
	DTRACE_PROBE1(pybpf, done, ticks);
	return 0;
}

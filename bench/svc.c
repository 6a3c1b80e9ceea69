/* svc.c: the one service program every supervisor of bench/run.sh starts.
 *
 * It does as little as a process can: read CLOCK_MONOTONIC (through the
 * vDSO, no system call), write one line "<ns> <pid>\n" into the bench's
 * stamp FIFO, then wait for a signal forever (or, built with -DSVC_EXIT,
 * exit 1 at once: the crash loop). No stdio, no allocation, no argument or
 * environment parsing: the FIFO's path is compiled in (-DSTAMP_FIFO=...),
 * so the same few system calls run whichever supervisor started it and
 * however (going's cmd=, runit's ./run symlink, s6 passing a name).
 *
 * Built static at bench time, so no dynamic loader runs before the clock is
 * read and the time from a supervisor's fork to the stamp is the smallest a
 * service start can be on this machine, the same for every row.
 *
 * The FIFO is opened O_NONBLOCK: with no reader it fails (ENXIO) and a full
 * pipe drops the line (EAGAIN); either way the service goes on, so a
 * supervisor that outlives the bench never blocks on it. One line is far
 * below PIPE_BUF, so lines from concurrent services never interleave.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#ifndef STAMP_FIFO
#error "build with -DSTAMP_FIFO='\"/path/of/the/fifo\"'"
#endif

/* Writes v in decimal ending at *end (exclusive); returns the first byte. */
static char *decimal(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

int main(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	unsigned long long ns = (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;

	char line[48], *end = line + sizeof line, *p;
	*--end = '\n';
	p = decimal(end, (unsigned long long)getpid());
	*--p = ' ';
	p = decimal(p, ns);

	/* no O_CLOEXEC: musl adds an fcntl for it, and the descriptor is
	 * closed before anything could inherit it */
	int fd = open(STAMP_FIFO, O_WRONLY | O_NONBLOCK);
	if (fd >= 0) {
		if (write(fd, p, (size_t)(line + sizeof line - p)) < 0) {
			/* dropped: the bench counts what arrives */
		}
		close(fd);
	}
#ifdef SVC_EXIT
	_exit(1);
#else
	for (;;)
		pause();
#endif
}

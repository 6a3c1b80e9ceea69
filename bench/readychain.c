/*
 * readychain.c - the service of bench/ready-chain.sh.
 *
 * readychain STAMPFILE NAME [fd]
 *   Appends "NAME start NS" to STAMPFILE first thing (CLOCK_MONOTONIC),
 *   then, with a third argument, "NAME ready NS" just before it writes the
 *   newline on descriptor 3 that going's ready=fd:3 waits for; then it
 *   waits. On SIGTERM it appends "NAME term NS" and exits 0.
 * Built static, so no dynamic loader runs before the first stamp.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *stampfile, *name;

static void stamp(const char *what)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char line[128];
	int n = snprintf(line, sizeof line, "%s %s %lld\n", name, what,
			 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	int fd = open(stampfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n) {
			close(fd);
			_exit(2);
		}
		close(fd);
	}
}

static void on_term(int sig)
{
	(void)sig;
	stamp("term");
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 64;
	stampfile = argv[1];
	name = argv[2];
	signal(SIGTERM, on_term);
	stamp("start");
	if (argc > 3) {
		stamp("ready");
		if (write(3, "\n", 1) != 1)
			return 3;
	}
	for (;;)
		pause();
}

/* floor.c: the reference loop of bench/run.sh, the least a supervisor does.
 *
 *   floor COUNT PROGRAM [fork]
 *
 * Starts COUNT copies of PROGRAM, each with vfork + setsid + execve and
 * nothing else (with "fork": fork instead of vfork, the parent going on
 * while the child execs) (no configuration, no log, no descriptor or signal set-up),
 * then blocks in waitpid and starts a copy again whenever one exits. On
 * SIGTERM or SIGINT it sends SIGTERM to every copy, reaps them all and
 * exits 0. The bench runs it exactly like every other supervisor, on the
 * same service program, so its respawn and cold-start times are a floor:
 * what this machine takes to notice an exit and start one static process,
 * or to start COUNT of them, with no supervisor's own work in the way.
 *
 * Built static with musl at bench time (musl-gcc -static -Os).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX 1024

extern char **environ;
static volatile sig_atomic_t stop;
static pid_t pids[MAX];
static int use_fork;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static pid_t start(char *const argv[])
{
	pid_t p = use_fork ? fork() : vfork();
	if (p == 0) {
		setsid();
		execve(argv[0], argv, environ);
		_exit(127);
	}
	return p;
}

int main(int argc, char **argv)
{
	int n = argc == 3 || argc == 4 ? atoi(argv[1]) : 0;
	if (n < 1 || n > MAX)
		return 64;
	use_fork = argc == 4 && strcmp(argv[3], "fork") == 0;
	char *child[] = { argv[2], NULL };

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop; /* no SA_RESTART: waitpid returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	for (int i = 0; i < n; i++)
		pids[i] = start(child);
	while (!stop) {
		pid_t p = waitpid(-1, NULL, 0);
		if (p < 0) {
			if (errno == ECHILD)
				return 1;
			continue;
		}
		for (int i = 0; i < n; i++)
			if (pids[i] == p) {
				pids[i] = stop ? 0 : start(child);
				break;
			}
	}
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	return 0;
}

/* floor.c: the reference loop of bench/run.sh, the least a supervisor does.
 *
 *   floor COUNT PROGRAM [fork | cgroup DIR | cgroup-fork DIR]
 *
 * Starts COUNT copies of PROGRAM, each with vfork + setsid + execve and
 * nothing else (with "fork": fork instead of vfork, the parent going on
 * while the child execs; with "cgroup DIR": copy N in its own cgroup
 * DIR/N, made at start, by clone3 with CLONE_INTO_CGROUP and CLONE_VFORK
 * but without CLONE_VM, so a fork's memory copy plus the kernel's cgroup
 * work, and the cgroups removed at exit; with "cgroup-fork DIR": the same
 * without CLONE_VFORK, so that the parent goes on to the next clone while
 * the child execs, the spawns of a cold start overlapping as a fork's do)
 * (no configuration, no log, no
 * descriptor or signal set-up),
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
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX 1024
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define CLONE_VFORK_ 0x00004000ULL
#define CLONE_INTO_CGROUP_ 0x200000000ULL

/* the kernel's struct clone_args, as far as CLONE_INTO_CGROUP needs it */
struct clone_args_ {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

extern char **environ;
static volatile sig_atomic_t stop;
static pid_t pids[MAX];
static int use_fork;
static int cg_overlap; /* "cgroup-fork DIR" */
static const char *cg_dir;   /* "cgroup DIR" */
static int cg_fd[MAX];

/* DIR/N into path (no stdio: the floor stays as small as it was) */
static const char *cg_path(char *path, size_t size, int n)
{
	size_t len = strlen(cg_dir);
	char digits[12];
	int k = 0;
	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	if (len + 1 + (size_t)k + 1 > size)
		return NULL;
	memcpy(path, cg_dir, len);
	path[len++] = '/';
	while (k > 0)
		path[len++] = digits[--k];
	path[len] = 0;
	return path;
}

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static pid_t start(int i, char *const argv[])
{
	if (cg_dir) {
		struct clone_args_ a;
		memset(&a, 0, sizeof a);
		a.flags = (cg_overlap ? 0 : CLONE_VFORK_) | CLONE_INTO_CGROUP_;
		a.exit_signal = SIGCHLD;
		a.cgroup = (uint64_t)cg_fd[i];
		long p = syscall(SYS_clone3, &a, sizeof a);
		if (p == 0) {
			setsid();
			execve(argv[0], argv, environ);
			_exit(127);
		}
		return (pid_t)p;
	}
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
	int n = argc >= 3 && argc <= 5 ? atoi(argv[1]) : 0;
	if (n < 1 || n > MAX)
		return 64;
	use_fork = argc == 4 && strcmp(argv[3], "fork") == 0;
	cg_overlap = argc == 5 && strcmp(argv[3], "cgroup-fork") == 0;
	if (argc == 5 && (strcmp(argv[3], "cgroup") == 0 || cg_overlap))
		cg_dir = argv[4];
	else if (argc == 5)
		return 64;
	char *child[] = { argv[2], NULL };
	char path[4096];
	if (cg_dir) {
		if (mkdir(cg_dir, 0755) < 0 && errno != EEXIST)
			return 1;
		for (int i = 0; i < n; i++) {
			if (!cg_path(path, sizeof path, i) || (mkdir(path, 0755) < 0 && errno != EEXIST))
				return 1;
			cg_fd[i] = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (cg_fd[i] < 0)
				return 1;
		}
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop; /* no SA_RESTART: waitpid returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	for (int i = 0; i < n; i++)
		pids[i] = start(i, child);
	while (!stop) {
		pid_t p = waitpid(-1, NULL, 0);
		if (p < 0) {
			if (errno == ECHILD)
				return 1;
			continue;
		}
		for (int i = 0; i < n; i++)
			if (pids[i] == p) {
				pids[i] = stop ? 0 : start(i, child);
				break;
			}
	}
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	if (cg_dir) {
		for (int i = 0; i < n; i++) {
			if (cg_path(path, sizeof path, i))
				rmdir(path);
		}
		rmdir(cg_dir);
	}
	return 0;
}

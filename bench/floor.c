/* floor.c: the reference loop of bench/run.sh, the least a supervisor does.
 *
 *   floor [-w WATCHED] COUNT PROGRAM [fork | cgroup DIR | cgroup-fork DIR]
 *
 * Starts COUNT copies of PROGRAM, each with vfork + setsid + execve and
 * nothing else:
 *   fork             fork instead of vfork, the parent going on while the
 *                    child execs;
 *   cgroup DIR       copy N in its own cgroup DIR/N, every one made at
 *                    start, by clone3 with CLONE_INTO_CGROUP and
 *                    CLONE_VFORK but without CLONE_VM: a fork's memory
 *                    copy plus the kernel's cgroup work;
 *   cgroup-fork DIR  the same without CLONE_VFORK, the parent going on to
 *                    the next clone while the child execs (the spawns of a
 *                    cold start overlap, as a fork's do), and each cgroup
 *                    made just before its first clone, so that the mkdirs
 *                    overlap with the children's execs too.
 * The cgroups are removed at exit. No configuration, no log, no descriptor
 * or signal set-up.
 *
 * It then blocks in waitpid and starts a copy again whenever one exits.
 * With -w, a second thread watches the directory WATCHED (inotify): every
 * name renamed or created there starts one more copy (in its own cgroup,
 * made then, in the cgroup modes), which is the least a supervisor does to
 * pick up a new service; the respawn path is untouched by it. On SIGTERM or
 * SIGINT it sends SIGTERM to every copy, reaps them all and exits 0.
 *
 * The bench runs it exactly like every other supervisor, on the same
 * service program, so its respawn, pickup and cold-start times are a
 * floor: what this machine takes to notice an exit or a new file and start
 * one static process, or to start COUNT of them, with no supervisor's own
 * work in the way.
 *
 * Built static with musl at bench time (musl-gcc -static -Os; musl has its
 * threads in libc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
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
static int count;            /* copies: COUNT, and one more per new name */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* pids, count */
static int use_fork;
static int cg_overlap;       /* "cgroup-fork DIR" */
static const char *cg_dir;   /* "cgroup DIR" or "cgroup-fork DIR" */
static int cg_fd[MAX];
static char *child_argv[2];

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

static int make_cgroup(int i)
{
	char path[4096];
	if (!cg_path(path, sizeof path, i) || (mkdir(path, 0755) < 0 && errno != EEXIST))
		return -1;
	cg_fd[i] = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return cg_fd[i];
}

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* A copy started by the watch thread would inherit its mask, every
 * signal blocked: the child clears it (the respawn path has none to clear). */
static void exec_child(int unmask)
{
	if (unmask) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	setsid();
	execve(child_argv[0], child_argv, environ);
	_exit(127);
}

static pid_t start(int i, int unmask)
{
	if (cg_dir) {
		if (cg_fd[i] < 0 && make_cgroup(i) < 0)
			return -1;
		struct clone_args_ a;
		memset(&a, 0, sizeof a);
		a.flags = (cg_overlap ? 0 : CLONE_VFORK_) | CLONE_INTO_CGROUP_;
		a.exit_signal = SIGCHLD;
		a.cgroup = (uint64_t)cg_fd[i];
		long p = syscall(SYS_clone3, &a, sizeof a);
		if (p == 0)
			exec_child(unmask);
		return (pid_t)p;
	}
	pid_t p = use_fork ? fork() : vfork();
	if (p == 0)
		exec_child(unmask);
	return p;
}

/* The pickup: one more copy for every name that appears in the directory. */
static void *watch(void *arg)
{
	int fd = *(int *)arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof *ev + ev->len;
			if (ev->len == 0 || ev->name[0] == '.')
				continue;
			pthread_mutex_lock(&lock);
			if (!stop && count < MAX) {
				pids[count] = start(count, 1);
				count++;
			}
			pthread_mutex_unlock(&lock);
		}
	}
}

int main(int argc, char **argv)
{
	const char *watched = NULL;
	if (argc >= 3 && strcmp(argv[1], "-w") == 0) {
		watched = argv[2];
		argc -= 2;
		argv += 2;
	}
	int n = argc >= 3 && argc <= 5 ? atoi(argv[1]) : 0;
	if (n < 1 || n > MAX)
		return 64;
	use_fork = argc == 4 && strcmp(argv[3], "fork") == 0;
	cg_overlap = argc == 5 && strcmp(argv[3], "cgroup-fork") == 0;
	if (argc == 5 && (strcmp(argv[3], "cgroup") == 0 || cg_overlap))
		cg_dir = argv[4];
	else if (argc == 5)
		return 64;
	child_argv[0] = argv[2];
	char path[4096];
	for (int i = 0; i < MAX; i++)
		cg_fd[i] = -1;
	if (cg_dir) {
		if (mkdir(cg_dir, 0755) < 0 && errno != EEXIST)
			return 1;
		/* serial: every cgroup first; overlapped: each at its first start */
		for (int i = 0; i < n && !cg_overlap; i++)
			if (make_cgroup(i) < 0)
				return 1;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop; /* no SA_RESTART: waitpid returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	static int ifd;
	if (watched) {
		ifd = inotify_init1(IN_CLOEXEC);
		if (ifd < 0 || inotify_add_watch(ifd, watched, IN_MOVED_TO | IN_CREATE) < 0)
			return 1;
		/* the watch thread takes no signal: SIGTERM must end main's waitpid */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		pthread_attr_t attr;
		pthread_t watcher;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 16384);
		if (pthread_create(&watcher, &attr, watch, &ifd) != 0)
			return 1;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}

	pthread_mutex_lock(&lock);
	for (int i = 0; i < n; i++)
		if ((pids[i] = start(i, 0)) < 0)
			return 1;
	count = n;
	pthread_mutex_unlock(&lock);
	while (!stop) {
		pid_t p = waitpid(-1, NULL, 0);
		if (p < 0) {
			if (errno == ECHILD)
				return 1;
			continue;
		}
		pthread_mutex_lock(&lock);
		for (int i = 0; i < count; i++)
			if (pids[i] == p) {
				pids[i] = stop ? 0 : start(i, 0);
				break;
			}
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock); /* held to the end: no pickup starts now */
	for (int i = 0; i < count; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	if (cg_dir) {
		for (int i = 0; i < count; i++) {
			if (cg_fd[i] >= 0 && cg_path(path, sizeof path, i))
				rmdir(path);
		}
		rmdir(cg_dir);
	}
	return 0;
}

/* stamptool: the timing helper of bench/confine-cost.sh and bench/cgroup-cost.sh
 * (the stamp-file tool of going 0.1.0's bench; bench/run.sh has its own).
 *
 * Every time it reports comes from CLOCK_MONOTONIC. Services started by the
 * supervisors under test run this program first ("stamp"), which appends
 * "<monotonic ns> <pid>\n" to a file and then execs sleep (or exits at once,
 * for the crash loop), so the start of each service instance is known to the
 * nanosecond, whatever the polling interval of the observer.
 *
 * Subcommands (all times printed in microseconds unless said otherwise):
 *   now                          monotonic ns
 *   stamp FILE SECS|exit         record, then exec "sleep SECS" / exit 1
 *   (as ./run, with no argument  same, FILE = $BENCH_STAMPDIR/<cwd basename>,
 *    or the service name)        SECS = $BENCH_SLEEP, or exit when ./crash
 *                                exists
 *   t0 FILE CMD...               write monotonic ns to FILE, exec CMD
 *   floor FILE                   fork+exec of "stamp FILE exit": print us
 *   loop-respawn FILE SECS ROUNDS
 *                                the reference loop (a minimal C supervisor:
 *                                waitpid, fork, exec) respawning one helper
 *                                "stamp FILE SECS": us from each SIGKILL to
 *                                the next stamp, one line per round
 *   loop-cold DIR SECS COUNT     the reference loop starting COUNT helpers
 *                                "stamp DIR/sNNN SECS": us from the first
 *                                fork to the last first stamp
 *   respawn FILE MINUP_MS TIMEOUT_MS
 *                                wait until the instance in FILE is up
 *                                MINUP_MS, SIGKILL it, print us until the
 *                                next instance's stamp (or "timeout")
 *   pickup FILE TIMEOUT_MS HUPPID SRC DST [CMD...]
 *                                rename SRC to DST, run CMD (if any), wait
 *                                for FILE's first stamp; if none within
 *                                TIMEOUT_MS and HUPPID > 0, SIGHUP it and
 *                                wait again. Prints "US 0" or "US 1" (1:
 *                                needed SIGHUP; US then counts from it)
 *   waitall DIR COUNT TIMEOUT_MS T0FILE
 *                                wait until DIR holds COUNT stamp files;
 *                                print (latest first stamp - T0) in us
 *   shutdown PIDFILE TIMEOUT_MS [-s SUPFILE] [-k SIG PID]... [-- CMD...]
 *                                pidfd every pid in PIDFILE (services) and
 *                                SUPFILE (supervisor processes), then send
 *                                the signals and run CMD; print "US SUPUS":
 *                                us until the last service, and the last
 *                                supervisor process, has exited (or
 *                                "timeout:N", N of them still running)
 *   timeit REPS [-each] -- CMD ARGS...
 *                                run CMD REPS times (with -each: one run is
 *                                CMD ARG for every ARG in turn); print
 *                                "median max" us, or "fail STATUS"
 *   sched PID...                 sum of /proc/PID/schedstat CPU ns
 *   killtag TAG [SECS]           SIGKILL every process whose environment
 *                                holds BENCH_TAG=TAG (or, with SECS, that
 *                                runs "sleep SECS": services of this bench),
 *                                until none is left; print how many
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef long long ll;

static ll now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ll)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void nap_ms(ll ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void die(const char *what)
{
	fprintf(stderr, "benchtool: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- stamp ---- */

static int do_stamp(const char *file, const char *mode)
{
	char line[64];
	ll t = now_ns();
	int n = snprintf(line, sizeof line, "%lld %d\n", t, (int)getpid());
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n) { /* nothing better to do */ }
		close(fd);
	}
	if (strcmp(mode, "exit") == 0)
		_exit(1);
	char *argv[] = { "sleep", (char *)mode, NULL };
	execvp("sleep", argv);
	_exit(127);
}

static int run_as_service(void)
{
	char cwd[PATH_MAX], file[PATH_MAX + 256];
	const char *dir = getenv("BENCH_STAMPDIR"), *secs = getenv("BENCH_SLEEP");
	if (!dir || !secs || !getcwd(cwd, sizeof cwd))
		_exit(111);
	const char *base = strrchr(cwd, '/');
	base = base ? base + 1 : cwd;
	snprintf(file, sizeof file, "%s/%s", dir, base);
	return do_stamp(file, access("crash", F_OK) == 0 ? "exit" : secs);
}

/* ---- stamp files ---- */

/* Reads FILE's stamps: the number of lines, the first and the last. */
struct stamps { int lines; ll first_t, last_t; int last_pid; };

static int read_stamps(const char *file, struct stamps *s)
{
	char buf[65536];
	memset(s, 0, sizeof *s);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = 0, r;
	/* Keep the head (first stamp) and the tail (last stamp) of the file. */
	char head[64] = "";
	int have_head = 0;
	ll total = 0;
	while ((r = read(fd, buf, sizeof buf - 1)) > 0) {
		if (!have_head) {
			size_t k = (size_t)r < sizeof head - 1 ? (size_t)r : sizeof head - 1;
			memcpy(head, buf, k);
			head[k] = 0;
			have_head = 1;
		}
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] == '\n')
				s->lines++;
		len = r;
		total += r;
	}
	close(fd);
	if (s->lines == 0)
		return 0;
	sscanf(head, "%lld", &s->first_t);
	/* Last complete line of the last chunk read. */
	buf[len] = 0;
	ssize_t end = len - 1;
	while (end >= 0 && buf[end] != '\n')
		end--;
	if (end < 0)
		return 0;
	buf[end] = 0;
	char *p = strrchr(buf, '\n');
	p = p ? p + 1 : buf;
	if (sscanf(p, "%lld %d", &s->last_t, &s->last_pid) != 2) {
		/* the last line straddled two chunks: re-read the file's tail */
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		off_t off = total > 128 ? total - 128 : 0;
		r = pread(fd, buf, 128, off);
		close(fd);
		if (r <= 0)
			return -1;
		buf[r] = 0;
		end = r - 1;
		while (end >= 0 && buf[end] != '\n')
			end--;
		if (end < 0)
			return -1;
		buf[end] = 0;
		p = strrchr(buf, '\n');
		p = p ? p + 1 : buf;
		sscanf(p, "%lld %d", &s->last_t, &s->last_pid);
	}
	return 0;
}

/* ---- respawn ---- */

static int do_respawn(const char *file, ll minup_ms, ll timeout_ms)
{
	struct stamps s;
	if (read_stamps(file, &s) < 0 || s.lines == 0) {
		puts("nostamp");
		return 0;
	}
	ll wake = s.last_t + minup_ms * 1000000LL;
	ll t = now_ns();
	if (wake > t)
		nap_ms((wake - t) / 1000000LL + 1);
	int old_lines = s.lines, old_pid = s.last_pid;
	ll t0 = now_ns();
	if (kill(old_pid, SIGKILL) != 0) {
		puts("nokill");
		return 0;
	}
	ll deadline = t0 + timeout_ms * 1000000LL;
	for (;;) {
		if (read_stamps(file, &s) == 0 && s.lines > old_lines && s.last_pid != old_pid) {
			printf("%lld\n", (s.last_t - t0) / 1000);
			return 0;
		}
		if (now_ns() > deadline) {
			puts("timeout");
			return 0;
		}
		nap_ms(2);
	}
}

/* ---- run a command, optionally without waiting ---- */

static pid_t spawn(char **argv)
{
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return p;
}

static int wait_status(pid_t p)
{
	int st;
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* ---- pickup ---- */

static int wait_first_stamp(const char *file, ll deadline, ll *t)
{
	struct stamps s;
	for (;;) {
		if (read_stamps(file, &s) == 0 && s.lines > 0) {
			*t = s.first_t;
			return 1;
		}
		if (now_ns() > deadline)
			return 0;
		nap_ms(1);
	}
}

static int do_pickup(int argc, char **argv)
{
	const char *file = argv[0];
	ll timeout_ms = atoll(argv[1]);
	pid_t hup = (pid_t)atoi(argv[2]);
	const char *src = argv[3], *dst = argv[4];
	char **cmd = argc > 5 ? argv + 5 : NULL;
	ll t0 = now_ns(), t;
	if (rename(src, dst) != 0)
		die("rename");
	if (cmd)
		wait_status(spawn(cmd));
	if (wait_first_stamp(file, t0 + timeout_ms * 1000000LL, &t)) {
		printf("%lld 0\n", (t - t0) / 1000);
		return 0;
	}
	if (hup <= 0) {
		puts("timeout 0");
		return 0;
	}
	t0 = now_ns();
	kill(hup, SIGHUP);
	if (wait_first_stamp(file, t0 + timeout_ms * 1000000LL, &t))
		printf("%lld 1\n", (t - t0) / 1000);
	else
		puts("timeout 1");
	return 0;
}

/* ---- waitall ---- */

/* Reads the number in FILE, waiting up to 5 s for it to be written. */
static ll read_ll_file(const char *file)
{
	ll deadline = now_ns() + 5000000000LL;
	for (;;) {
		char buf[64] = "";
		int fd = open(file, O_RDONLY);
		if (fd >= 0) {
			ssize_t r = read(fd, buf, sizeof buf - 1);
			close(fd);
			if (r > 0 && buf[r - 1] == '\n') {
				buf[r] = 0;
				return atoll(buf);
			}
		}
		if (now_ns() > deadline)
			die(file);
		nap_ms(1);
	}
}

static int do_waitall(const char *dir, int count, ll timeout_ms, const char *t0file)
{
	ll t0 = read_ll_file(t0file);
	ll deadline = now_ns() + timeout_ms * 1000000LL;
	int n = 0;
	for (;;) {
		DIR *d = opendir(dir);
		if (!d)
			die(dir);
		struct dirent *e;
		n = 0;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
		if (n >= count)
			break;
		if (now_ns() > deadline) {
			printf("timeout %d\n", n);
			return 0;
		}
		nap_ms(10);
	}
	/* All files exist; wait until each holds a complete stamp. */
	ll latest = 0;
	for (;;) {
		DIR *d = opendir(dir);
		struct dirent *e;
		int ok = 1;
		latest = 0;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[PATH_MAX];
			struct stamps s;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (read_stamps(path, &s) < 0 || s.lines == 0) {
				ok = 0;
				break;
			}
			if (s.first_t > latest)
				latest = s.first_t;
		}
		closedir(d);
		if (ok)
			break;
		if (now_ns() > deadline) {
			printf("timeout %d\n", n);
			return 0;
		}
		nap_ms(10);
	}
	printf("%lld\n", (latest - t0) / 1000);
	return 0;
}

/* ---- shutdown ---- */

/* Opens a pidfd for every pid listed in FILE; returns how many. */
static int open_pidfds(const char *file, struct pollfd *pf, int at, int max)
{
	FILE *f = fopen(file, "r");
	int pid, n = 0;
	if (!f)
		die(file);
	while (at + n < max && fscanf(f, "%d", &pid) == 1) {
		int fd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (fd >= 0)
			pf[at + n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	fclose(f);
	return n;
}

static int do_shutdown(int argc, char **argv)
{
	static struct pollfd pf[8192];
	const char *pidfile = argv[0];
	ll timeout_ms = atoll(argv[1]);
	int sigs[64], pids[64], nk = 0;
	const char *supfile = NULL;
	char **cmd = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-k") == 0 && i + 2 < argc && nk < 64) {
			sigs[nk] = atoi(argv[i + 1]);
			pids[nk++] = atoi(argv[i + 2]);
			i += 2;
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			supfile = argv[++i];
		} else if (strcmp(argv[i], "--") == 0) {
			cmd = i + 1 < argc ? argv + i + 1 : NULL;
			break;
		}
	}
	/* pf[0, nsvc) are the services, pf[nsvc, n) the supervisor processes */
	int nsvc = open_pidfds(pidfile, pf, 0, 8192);
	int n = nsvc + (supfile ? open_pidfds(supfile, pf, nsvc, 8192) : 0);
	int left_svc = nsvc, left_sup = n - nsvc;
	ll t0 = now_ns();
	for (int k = 0; k < nk; k++)
		kill(pids[k], sigs[k]);
	pid_t child = cmd ? spawn(cmd) : 0;
	ll deadline = t0 + timeout_ms * 1000000LL, t_svc = t0, t_sup = t0;
	while (left_svc + left_sup > 0) {
		ll rem = (deadline - now_ns()) / 1000000LL;
		if (rem <= 0)
			break;
		int r = poll(pf, (nfds_t)n, (int)rem);
		if (r < 0 && errno != EINTR)
			die("poll");
		ll t = now_ns();
		for (int k = 0; k < n; k++)
			if (pf[k].fd >= 0 && pf[k].revents) {
				close(pf[k].fd);
				pf[k].fd = -1;
				if (k < nsvc) {
					left_svc--;
					t_svc = t;
				} else {
					left_sup--;
					t_sup = t;
				}
			}
	}
	if (child > 0)
		wait_status(child);
	if (left_svc > 0)
		printf("timeout:%d ", left_svc);
	else
		printf("%lld ", (t_svc - t0) / 1000);
	if (left_sup > 0)
		printf("timeout:%d\n", left_sup);
	else
		printf("%lld\n", (t_sup - t0) / 1000);
	return 0;
}

/* ---- timeit ---- */

static int cmp_ll(const void *a, const void *b)
{
	ll x = *(const ll *)a, y = *(const ll *)b;
	return x < y ? -1 : x > y;
}

static int do_timeit(int argc, char **argv)
{
	int reps = atoi(argv[0]), each = 0, i = 1;
	if (i < argc && strcmp(argv[i], "-each") == 0) {
		each = 1;
		i++;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	char **cmd = argv + i;
	int ncmd = argc - i;
	if (reps < 1 || reps > 1000 || ncmd < 1) {
		fprintf(stderr, "benchtool: timeit: bad arguments\n");
		return 2;
	}
	ll *d = calloc((size_t)reps, sizeof *d);
	for (int r = 0; r < reps; r++) {
		ll t0 = now_ns();
		if (each) {
			for (int k = 1; k < ncmd; k++) {
				char *one[] = { cmd[0], cmd[k], NULL };
				int st = wait_status(spawn(one));
				if (st != 0) {
					printf("fail %d\n", st);
					return 0;
				}
			}
		} else {
			int st = wait_status(spawn(cmd));
			if (st != 0) {
				printf("fail %d\n", st);
				return 0;
			}
		}
		d[r] = now_ns() - t0;
		nap_ms(20);
	}
	qsort(d, (size_t)reps, sizeof *d, cmp_ll);
	printf("%lld %lld\n", d[reps / 2] / 1000, d[reps - 1] / 1000);
	return 0;
}

/* ---- the reference loop ---- */

/* The least a supervisor can do, for a floor under the measured ones: one
 * process that blocks in waitpid, forks and execs, with no configuration,
 * no log and no event loop. It starts the same helper as the services. */

static pid_t start_helper(const char *file, const char *secs)
{
	pid_t p = fork();
	if (p == 0) {
		setsid();
		char *argv[] = { "benchtool", "stamp", (char *)file, (char *)secs, NULL };
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	return p;
}

/* Waits until FILE's last stamp comes from PID; 0 when it does. */
static int wait_stamp_of(const char *file, pid_t pid, struct stamps *s, ll timeout_ms)
{
	ll deadline = now_ns() + timeout_ms * 1000000LL;
	while (read_stamps(file, s) != 0 || s->lines == 0 || s->last_pid != pid) {
		if (now_ns() > deadline)
			return -1;
		nap_ms(1);
	}
	return 0;
}

/* Kills the running instance, reaps it, starts the next: prints the time
 * from the kill to the next instance's stamp, once per round, in us. */
static int do_loop_respawn(const char *file, const char *secs, int rounds)
{
	struct stamps s;
	unlink(file);
	pid_t p = start_helper(file, secs);
	for (int r = 0; r < rounds; r++) {
		if (wait_stamp_of(file, p, &s, 5000) != 0)
			break;
		nap_ms(100);
		ll t0 = now_ns();
		kill(p, SIGKILL);
		wait_status(p);
		p = start_helper(file, secs);
		if (wait_stamp_of(file, p, &s, 5000) == 0)
			printf("%lld\n", (s.last_t - t0) / 1000);
	}
	kill(p, SIGKILL);
	wait_status(p);
	return 0;
}

/* Starts COUNT helpers at once (DIR/s000 ...): prints the time from the
 * first fork to the last first stamp in us, or "timeout". */
static int do_loop_cold(const char *dir, const char *secs, int count)
{
	char file[PATH_MAX];
	static pid_t pids[1024];
	if (count < 1 || count > 1024)
		return 2;
	ll t0 = now_ns(), last = 0, deadline = t0 + 60000000000LL;
	for (int i = 0; i < count; i++) {
		snprintf(file, sizeof file, "%s/s%03d", dir, i);
		pids[i] = start_helper(file, secs);
	}
	int ok = 1;
	for (int i = 0; i < count && ok; i++) {
		struct stamps s;
		snprintf(file, sizeof file, "%s/s%03d", dir, i);
		while (read_stamps(file, &s) != 0 || s.lines == 0) {
			if (now_ns() > deadline) {
				ok = 0;
				break;
			}
			nap_ms(1);
		}
		if (ok && s.first_t > last)
			last = s.first_t;
	}
	for (int i = 0; i < count; i++)
		if (pids[i] > 0)
			kill(-pids[i], SIGKILL);
	for (int i = 0; i < count; i++)
		if (pids[i] > 0)
			wait_status(pids[i]);
	if (ok)
		printf("%lld\n", (last - t0) / 1000);
	else
		puts("timeout");
	return 0;
}

/* ---- floor ---- */

static int do_floor(const char *file, const char *self)
{
	ll best = -1;
	for (int r = 0; r < 20; r++) {
		unlink(file);
		ll t0 = now_ns();
		char *argv[] = { (char *)self, "stamp", (char *)file, "exit", NULL };
		pid_t p = fork();
		if (p == 0) {
			execv(self, argv);
			_exit(127);
		}
		wait_status(p);
		struct stamps s;
		if (read_stamps(file, &s) == 0 && s.lines > 0) {
			ll d = s.first_t - t0;
			if (best < 0 || d < best)
				best = d;
		}
		nap_ms(5);
	}
	printf("%lld\n", best / 1000);
	return 0;
}

/* ---- sched ---- */

static int do_sched(int argc, char **argv)
{
	ll sum = 0;
	for (int i = 0; i < argc; i++) {
		char path[64], buf[128] = "";
		snprintf(path, sizeof path, "/proc/%s/schedstat", argv[i]);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r > 0) {
			buf[r] = 0;
			sum += atoll(buf);
		}
	}
	printf("%lld\n", sum);
	return 0;
}

/* ---- killtag ---- */

/* Does /proc/PID/FILE hold exactly the NUL-separated strings in WANT? */
static int proc_has(int pid, const char *file, const char *want, size_t wlen, int whole)
{
	char path[64];
	static char buf[1 << 16];
	snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, buf, sizeof buf);
	close(fd);
	if (r <= 0)
		return 0;
	if (whole)
		return (size_t)r == wlen && memcmp(buf, want, wlen) == 0;
	for (ssize_t i = 0; i < r;) {
		size_t l = strnlen(buf + i, (size_t)(r - i));
		if (l == wlen && memcmp(buf + i, want, wlen) == 0)
			return 1;
		i += (ssize_t)l + 1;
	}
	return 0;
}

static int do_killtag(const char *tag, const char *secs)
{
	char want[256], cmd[64];
	snprintf(want, sizeof want, "BENCH_TAG=%s", tag);
	size_t wlen = strlen(want), clen = 0;
	if (secs) {
		/* "sleep\0SECS\0" */
		clen = (size_t)snprintf(cmd, sizeof cmd, "sleep%c%s", 0, secs) + 1;
	}
	int killed = 0, self = getpid();
	for (int round = 0; round < 200; round++) {
		int found = 0;
		DIR *d = opendir("/proc");
		struct dirent *e;
		while ((e = readdir(d))) {
			int pid = atoi(e->d_name);
			if (pid <= 1 || pid == self)
				continue;
			if ((proc_has(pid, "environ", want, wlen, 0) ||
			     (secs && proc_has(pid, "cmdline", cmd, clen, 1))) &&
			    kill(pid, SIGKILL) == 0) {
				found++;
				killed++;
			}
		}
		closedir(d);
		if (!found)
			break;
		nap_ms(20);
	}
	printf("%d\n", killed);
	return 0;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	if (strcmp(base, "run") == 0 && argc <= 2)  /* s6-supervise passes the name */
		return run_as_service();
	if (argc < 2)
		goto usage;
	const char *c = argv[1];
	if (strcmp(c, "now") == 0) {
		printf("%lld\n", now_ns());
		return 0;
	}
	if (strcmp(c, "stamp") == 0 && argc == 4)
		return do_stamp(argv[2], argv[3]);
	if (strcmp(c, "t0") == 0 && argc >= 4) {
		char line[32];
		int n = snprintf(line, sizeof line, "%lld\n", now_ns());
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, line, (size_t)n) != n)
			die(argv[2]);
		close(fd);
		execvp(argv[3], argv + 3);
		die(argv[3]);
	}
	if (strcmp(c, "floor") == 0 && argc == 3)
		return do_floor(argv[2], "/proc/self/exe");
	if (strcmp(c, "loop-respawn") == 0 && argc == 5)
		return do_loop_respawn(argv[2], argv[3], atoi(argv[4]));
	if (strcmp(c, "loop-cold") == 0 && argc == 5)
		return do_loop_cold(argv[2], argv[3], atoi(argv[4]));
	if (strcmp(c, "respawn") == 0 && argc == 5)
		return do_respawn(argv[2], atoll(argv[3]), atoll(argv[4]));
	if (strcmp(c, "pickup") == 0 && argc >= 7)
		return do_pickup(argc - 2, argv + 2);
	if (strcmp(c, "waitall") == 0 && argc == 6)
		return do_waitall(argv[2], atoi(argv[3]), atoll(argv[4]), argv[5]);
	if (strcmp(c, "shutdown") == 0 && argc >= 4)
		return do_shutdown(argc - 2, argv + 2);
	if (strcmp(c, "timeit") == 0 && argc >= 4)
		return do_timeit(argc - 2, argv + 2);
	if (strcmp(c, "sched") == 0)
		return do_sched(argc - 2, argv + 2);
	if (strcmp(c, "killtag") == 0 && (argc == 3 || argc == 4))
		return do_killtag(argv[2], argc == 4 ? argv[3] : NULL);
usage:
	fprintf(stderr, "benchtool: bad usage (see the comment at the top of bench/benchtool.c)\n");
	return 2;
}

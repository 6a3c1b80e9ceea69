/* benchtool: the timing helper of bench/run.sh (and of confine-cost.sh and
 * cgroup-cost.sh, below).
 *
 * Every service the bench starts is bench/svc.c, which writes one line
 * "<CLOCK_MONOTONIC ns> <pid>\n" into the bench's stamp FIFO as the first
 * thing it does. The bench keeps that FIFO open for its whole run, so the
 * lines wait in the pipe until a subcommand here reads them: nobody polls
 * files while services start. A reader blocks in poll(2) until a line
 * arrives or its deadline passes; `collect`, which reads while hundreds of
 * services start, runs as SCHED_IDLE so its wake-ups take no CPU time from
 * the supervisor or its services. Every time printed is in microseconds
 * and comes from CLOCK_MONOTONIC; every wait has a deadline.
 *
 * Subcommands:
 *   now                          monotonic ns
 *   t0 FILE CMD...               write monotonic ns to FILE, exec CMD
 *   fifo FIFO BYTES              set the FIFO's pipe capacity; print it
 *   drain FIFO                   discard the lines waiting; print how many
 *   collect FIFO COUNT TIMEOUT_MS T0FILE OUT
 *                                discard waiting lines, print "ready", then
 *                                read COUNT lines (into OUT, "ns pid" each);
 *                                print "LAST FIRST": us from T0FILE's time
 *                                to the latest and to the earliest stamp,
 *                                or "timeout N" (N lines came)
 *   respawn FIFO PID START_NS MINUP_MS TIMEOUT_MS
 *                                wait until the service PID started at
 *                                START_NS is MINUP_MS old, SIGKILL it, print
 *                                "US NEWPID NEWNS DEADUS" for the next stamp
 *                                of another pid (DEADUS: us from the kill
 *                                until PID had exited, seen through a pidfd;
 *                                -1 if unknown), or "timeout" / "nokill"
 *   pickup FIFO TIMEOUT_MS HUPPID SRC DST [CMD...]
 *                                rename SRC to DST, then SIGHUP HUPPID when
 *                                it is > 0, run CMD when given; print
 *                                "US NEWPID NEWNS" for the next stamp, timed
 *                                from the rename, or "timeout"
 *   shutdown PIDFILE TIMEOUT_MS [-s SUPFILE] [-k SIG PID]... [-- CMD...]
 *                                pidfd every pid in PIDFILE (services, first
 *                                number of each line) and SUPFILE
 *                                (supervisor processes), then send the
 *                                signals and run CMD; print "US SUPUS": us
 *                                until the last service, and the last
 *                                supervisor process, has exited (or
 *                                "timeout:N", N of them still running)
 *   timeit REPS [-each] -- CMD ARGS...
 *                                run CMD REPS times (with -each: one run is
 *                                CMD ARG for every ARG in turn); print
 *                                "median max" us, or "fail STATUS"
 *   sched PID...                 sum of /proc/PID/schedstat CPU ns
 *   killtag TAG PREFIX           SIGKILL every process whose environment
 *                                holds BENCH_TAG=TAG (any BENCH_TAG that
 *                                starts with TAG when TAG ends in '*') or
 *                                whose executable's path starts with
 *                                PREFIX, until none is left; print how many
 *
 * and, for bench/confine-cost.sh and bench/cgroup-cost.sh, which must know
 * which service a stamp is from, a stamp file per service:
 *   stamp FILE                   append "<monotonic ns> <pid>\n" to FILE,
 *                                then wait for a signal forever (a service)
 *   respawn-file FILE MINUP_MS TIMEOUT_MS
 *                                wait until the instance last stamped in
 *                                FILE is up MINUP_MS, SIGKILL it, print us
 *                                until the next instance's stamp, or
 *                                "timeout" / "nokill" / "nostamp"
 *   waitall DIR COUNT TIMEOUT_MS T0FILE
 *                                wait until COUNT files in DIR hold a
 *                                stamp; print us from T0FILE's time to the
 *                                latest first stamp, or "timeout N"
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
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

/* ---- the stamp FIFO ---- */

/* A reader of "ns pid\n" lines. Opened read-write, so that it never sees
 * end-of-file whoever else holds the FIFO, and non-blocking: waits are
 * poll(2) with a deadline. */
struct reader {
	int fd;
	size_t len;
	char buf[1 << 16];
};

static struct reader rd;

static void fifo_open(const char *path)
{
	rd.fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (rd.fd < 0)
		die(path);
	rd.len = 0;
}

/* Takes one complete line out of the buffer; 1 if there was one. */
static int take_line(ll *ns, int *pid)
{
	char *nl = memchr(rd.buf, '\n', rd.len);
	if (!nl)
		return 0;
	*nl = 0;
	if (sscanf(rd.buf, "%lld %d", ns, pid) != 2)
		*ns = 0, *pid = 0;
	size_t used = (size_t)(nl + 1 - rd.buf);
	memmove(rd.buf, nl + 1, rd.len - used);
	rd.len -= used;
	return 1;
}

/* Reads what is waiting without blocking; -1 on EAGAIN, else bytes read. */
static ssize_t fill(void)
{
	if (rd.len >= sizeof rd.buf)
		rd.len = 0; /* no line is this long: garbage */
	ssize_t r = read(rd.fd, rd.buf + rd.len, sizeof rd.buf - rd.len);
	if (r > 0)
		rd.len += (size_t)r;
	return r;
}

/* The next line, waiting until DEADLINE (monotonic ns); 0 on timeout. */
static int next_line(ll deadline, ll *ns, int *pid)
{
	for (;;) {
		if (take_line(ns, pid))
			return 1;
		ssize_t r = fill();
		if (r > 0)
			continue;
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			die("read FIFO");
		ll rem = (deadline - now_ns()) / 1000000LL;
		if (rem < 0)
			return 0;
		struct pollfd pf = { .fd = rd.fd, .events = POLLIN };
		if (poll(&pf, 1, (int)(rem > INT_MAX ? INT_MAX : rem + 1)) < 0 && errno != EINTR)
			die("poll");
	}
}

/* Discards every waiting line; returns how many. */
static int drain(void)
{
	int n = 0;
	ll ns;
	int pid;
	for (;;) {
		while (take_line(&ns, &pid))
			n++;
		if (fill() <= 0)
			break;
	}
	rd.len = 0;
	return n;
}

static int do_fifo(const char *path, int bytes)
{
	fifo_open(path);
	int r = fcntl(rd.fd, F_SETPIPE_SZ, bytes);
	if (r < 0)
		r = fcntl(rd.fd, F_GETPIPE_SZ);
	printf("%d\n", r);
	return 0;
}

/* ---- collect ---- */

/* Reads the number in FILE, waiting up to 5 s for it to be written. */
static ll read_ll_file(const char *file)
{
	ll deadline = now_ns() + 5000000000LL;
	for (;;) {
		char buf[64] = "";
		int fd = open(file, O_RDONLY | O_CLOEXEC);
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

static int do_collect(const char *fifo, int count, ll timeout_ms, const char *t0file, const char *out)
{
	FILE *o = fopen(out, "w");
	if (!o)
		die(out);
	fifo_open(fifo);
	drain();
	/* Wake-ups while the services start only run on an otherwise idle CPU. */
	struct sched_param sp = { 0 };
	sched_setscheduler(0, SCHED_IDLE, &sp);
	puts("ready");
	fflush(stdout);
	ll deadline = now_ns() + timeout_ms * 1000000LL, first = 0, last = 0, ns;
	int n = 0, pid;
	while (n < count && next_line(deadline, &ns, &pid)) {
		fprintf(o, "%lld %d\n", ns, pid);
		if (n == 0 || ns < first)
			first = ns;
		if (ns > last)
			last = ns;
		n++;
	}
	fclose(o);
	if (n < count) {
		printf("timeout %d\n", n);
		return 0;
	}
	ll t0 = read_ll_file(t0file);
	printf("%lld %lld\n", (last - t0) / 1000, (first - t0) / 1000);
	return 0;
}

/* ---- respawn ---- */

static int do_respawn(const char *fifo, pid_t pid, ll start_ns, ll minup_ms, ll timeout_ms)
{
	ll wake = start_ns + minup_ms * 1000000LL, t = now_ns();
	if (wake > t)
		nap_ms((wake - t) / 1000000LL + 1);
	fifo_open(fifo);
	drain();
	/* The killed service must be scheduled to die: on a loaded machine that
	 * alone can take milliseconds, which no supervisor can help. The pidfd
	 * tells when it had exited, so the caller can tell such samples apart. */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ll t0 = now_ns(), dead = -1;
	if (kill(pid, SIGKILL) != 0) {
		puts("nokill");
		return 0;
	}
	ll deadline = t0 + timeout_ms * 1000000LL, ns;
	int np;
	if (pfd >= 0) {
		struct pollfd pf = { .fd = pfd, .events = POLLIN };
		if (poll(&pf, 1, (int)timeout_ms) == 1)
			dead = (now_ns() - t0) / 1000;
		close(pfd);
	}
	while (next_line(deadline, &ns, &np))
		if (np != pid) {
			printf("%lld %d %lld %lld\n", (ns - t0) / 1000, np, ns, dead);
			return 0;
		}
	puts("timeout");
	return 0;
}

/* ---- run a command ---- */

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

static int do_pickup(int argc, char **argv)
{
	const char *fifo = argv[0];
	ll timeout_ms = atoll(argv[1]), ns;
	pid_t hup = (pid_t)atoi(argv[2]);
	const char *src = argv[3], *dst = argv[4];
	char **cmd = argc > 5 ? argv + 5 : NULL;
	int np;
	fifo_open(fifo);
	drain();
	ll t0 = now_ns();
	if (rename(src, dst) != 0)
		die("rename");
	if (hup > 0)
		kill(hup, SIGHUP);
	pid_t child = cmd ? spawn(cmd) : 0;
	int got = next_line(t0 + timeout_ms * 1000000LL, &ns, &np);
	if (child > 0)
		wait_status(child);
	if (got)
		printf("%lld %d %lld\n", (ns - t0) / 1000, np, ns);
	else
		puts("timeout");
	return 0;
}

/* ---- shutdown ---- */

/* Opens a pidfd for every pid (the first number of each line) in FILE. */
static int open_pidfds(const char *file, struct pollfd *pf, int at, int max, int skip_ns)
{
	FILE *f = fopen(file, "r");
	char line[128];
	int n = 0;
	if (!f)
		die(file);
	while (at + n < max && fgets(line, sizeof line, f)) {
		ll a, b;
		int k = sscanf(line, "%lld %lld", &a, &b);
		if (k < 1)
			continue;
		int pid = (int)(skip_ns && k == 2 ? b : a);
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
	/* pf[0, nsvc) are the services, pf[nsvc, n) the supervisor processes;
	 * PIDFILE holds collect's "ns pid" lines */
	int nsvc = open_pidfds(pidfile, pf, 0, 8192, 1);
	int n = nsvc + (supfile ? open_pidfds(supfile, pf, nsvc, 8192, 0) : 0);
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

/* ---- sched ---- */

static int do_sched(int argc, char **argv)
{
	ll sum = 0;
	for (int i = 0; i < argc; i++) {
		char path[64], buf[128] = "";
		snprintf(path, sizeof path, "/proc/%s/schedstat", argv[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
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

/* ---- stamp files ---- */

_Noreturn static void do_stamp(const char *file)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%lld %d\n", now_ns(), (int)getpid());
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n) { /* the bench counts what arrives */ }
		close(fd);
	}
	for (;;)
		pause();
}

/* The complete lines of a stamp file: how many, the first time, the last
 * time and pid. A file holds a line per start of one service, far fewer
 * than fill the buffer. -1 when it cannot be read. */
struct stamps { int lines; ll first_t, last_t; int last_pid; };

static int read_stamps(const char *file, struct stamps *s)
{
	static char buf[1 << 16];
	memset(s, 0, sizeof *s);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		ll t;
		int pid;
		if (sscanf(line, "%lld %d", &t, &pid) != 2)
			continue;
		if (s->lines++ == 0)
			s->first_t = t;
		s->last_t = t;
		s->last_pid = pid;
	}
	return 0;
}

static int do_respawn_file(const char *file, ll minup_ms, ll timeout_ms)
{
	struct stamps s;
	if (read_stamps(file, &s) < 0 || s.lines == 0) {
		puts("nostamp");
		return 0;
	}
	ll wake = s.last_t + minup_ms * 1000000LL, t = now_ns();
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

/* How many files in DIR hold a stamp, and the latest first stamp of them.
 * The stamps are read only once there are COUNT files: a file is made by
 * its first stamp, so until then counting names is enough. */
static int stamped(const char *dir, int count, ll *latest)
{
	DIR *d = opendir(dir);
	if (!d)
		die(dir);
	struct dirent *e;
	int files = 0, n = 0;
	while ((e = readdir(d)))
		files += e->d_name[0] != '.';
	if (files >= count) {
		rewinddir(d);
		while ((e = readdir(d))) {
			char path[PATH_MAX];
			struct stamps s;
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (read_stamps(path, &s) == 0 && s.lines > 0) {
				n++;
				if (s.first_t > *latest)
					*latest = s.first_t;
			}
		}
	}
	closedir(d);
	return n;
}

static int do_waitall(const char *dir, int count, ll timeout_ms, const char *t0file)
{
	ll t0 = read_ll_file(t0file), deadline = now_ns() + timeout_ms * 1000000LL;
	for (;;) {
		ll latest = 0;
		int n = stamped(dir, count, &latest);
		if (n >= count) {
			printf("%lld\n", (latest - t0) / 1000);
			return 0;
		}
		if (now_ns() > deadline) {
			printf("timeout %d\n", n);
			return 0;
		}
		nap_ms(10);
	}
}

/* ---- killtag ---- */

/* Does /proc/PID/environ hold the string WANT (or, with PREFIX, one that
 * starts with it)? */
static int environ_has(int pid, const char *want, size_t wlen, int prefix)
{
	char path[64];
	static char buf[1 << 16];
	snprintf(path, sizeof path, "/proc/%d/environ", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, buf, sizeof buf);
	close(fd);
	for (ssize_t i = 0; i < r;) {
		size_t l = strnlen(buf + i, (size_t)(r - i));
		if ((l == wlen || (prefix && l > wlen)) && memcmp(buf + i, want, wlen) == 0)
			return 1;
		i += (ssize_t)l + 1;
	}
	return 0;
}

static int exe_under(int pid, const char *prefix, size_t plen)
{
	char path[64], exe[PATH_MAX];
	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	ssize_t r = readlink(path, exe, sizeof exe);
	return r >= (ssize_t)plen && memcmp(exe, prefix, plen) == 0;
}

static int do_killtag(const char *tag, const char *prefix)
{
	char want[256];
	snprintf(want, sizeof want, "BENCH_TAG=%s", tag);
	size_t wlen = strlen(want), plen = strlen(prefix);
	int any = wlen > 10 && want[wlen - 1] == '*';
	if (any)
		want[--wlen] = 0;
	int killed = 0, self = getpid();
	for (int round = 0; round < 200; round++) {
		int found = 0;
		DIR *d = opendir("/proc");
		struct dirent *e;
		if (!d)
			die("/proc");
		while ((e = readdir(d))) {
			int pid = atoi(e->d_name);
			if (pid <= 1 || pid == self)
				continue;
			if ((environ_has(pid, want, wlen, any) || (plen && exe_under(pid, prefix, plen))) &&
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
	if (argc < 2)
		goto usage;
	const char *c = argv[1];
	if (strcmp(c, "now") == 0) {
		printf("%lld\n", now_ns());
		return 0;
	}
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
	if (strcmp(c, "fifo") == 0 && argc == 4)
		return do_fifo(argv[2], atoi(argv[3]));
	if (strcmp(c, "drain") == 0 && argc == 3) {
		fifo_open(argv[2]);
		printf("%d\n", drain());
		return 0;
	}
	if (strcmp(c, "collect") == 0 && argc == 7)
		return do_collect(argv[2], atoi(argv[3]), atoll(argv[4]), argv[5], argv[6]);
	if (strcmp(c, "respawn") == 0 && argc == 7)
		return do_respawn(argv[2], (pid_t)atoi(argv[3]), atoll(argv[4]), atoll(argv[5]), atoll(argv[6]));
	if (strcmp(c, "pickup") == 0 && argc >= 7)
		return do_pickup(argc - 2, argv + 2);
	if (strcmp(c, "shutdown") == 0 && argc >= 4)
		return do_shutdown(argc - 2, argv + 2);
	if (strcmp(c, "timeit") == 0 && argc >= 4)
		return do_timeit(argc - 2, argv + 2);
	if (strcmp(c, "sched") == 0)
		return do_sched(argc - 2, argv + 2);
	if (strcmp(c, "killtag") == 0 && argc == 4)
		return do_killtag(argv[2], argv[3]);
	if (strcmp(c, "stamp") == 0 && argc == 3)
		do_stamp(argv[2]);
	if (strcmp(c, "respawn-file") == 0 && argc == 5)
		return do_respawn_file(argv[2], atoll(argv[3]), atoll(argv[4]));
	if (strcmp(c, "waitall") == 0 && argc == 6)
		return do_waitall(argv[2], atoi(argv[3]), atoll(argv[4]), argv[5]);
usage:
	fprintf(stderr, "benchtool: bad usage (see the comment at the top of bench/benchtool.c)\n");
	return 2;
}

/* stamptool: the timing helper of bench/confine-cost.sh and bench/cgroup-cost.sh
 * (the stamp-file tool of going 0.1.0's bench; bench/run.sh has its own).
 *
 * Every time it reports comes from CLOCK_MONOTONIC. Services started by the
 * supervisors under test run this program first ("stamp"), which appends
 * "<monotonic ns> <pid>\n" to a file and then execs sleep (or exits at once,
 * for the crash loop), so the start of each service instance is known to the
 * nanosecond, whatever the polling interval of the observer.
 *
 * Subcommands (all times printed in microseconds):
 *   stamp FILE SECS|exit         record, then exec "sleep SECS" / exit 1
 *   t0 FILE CMD...               write monotonic ns to FILE, exec CMD
 *   respawn FILE MINUP_MS TIMEOUT_MS
 *                                wait until the instance in FILE is up
 *                                MINUP_MS, SIGKILL it, print us until the
 *                                next instance's stamp (or "timeout")
 *   waitall DIR COUNT TIMEOUT_MS T0FILE
 *                                wait until DIR holds COUNT stamp files;
 *                                print (latest first stamp - T0) in us
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	if (argc < 2)
		goto usage;
	const char *c = argv[1];
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
	if (strcmp(c, "respawn") == 0 && argc == 5)
		return do_respawn(argv[2], atoll(argv[3]), atoll(argv[4]));
	if (strcmp(c, "waitall") == 0 && argc == 6)
		return do_waitall(argv[2], atoi(argv[3]), atoll(argv[4]), argv[5]);
	if (strcmp(c, "killtag") == 0 && (argc == 3 || argc == 4))
		return do_killtag(argv[2], argc == 4 ? argv[3] : NULL);
usage:
	fprintf(stderr, "stamptool: bad usage (see the comment at the top of bench/stamptool.c)\n");
	return 2;
}

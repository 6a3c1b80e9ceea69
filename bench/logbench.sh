#!/usr/bin/env bash
# bench/logbench.sh [SECONDS] — service output: throughput of going's
# log=FILE, with and without log_time=utc, beside svlogd (runit) and
# s6-log with and without their timestamps, each fed by the same flooding
# `yes`, one at a time, ROUNDS times (default 3) in turn, median shown;
# then log=syslog beside busybox `logger` reading the same `yes`, both
# into one datagram sink at a private /dev/log; then VmPeak of going with
# 128 services that all log. Reports; asserts nothing about the peers.
#
# MB/s counts the bytes of the log files (stamps included, as each logger
# writes them); klines/s counts the lines, which is what the service wrote.
# The syslog part needs root (a mount namespace: the host's /dev/log is
# never touched) and a C compiler for the sink.
set -u
secs=${1:-5}
rounds=${ROUNDS:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
going=${GOING:-$here/going}
[[ -x $going ]] || { echo "logbench: build first (make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/going-logbench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
line="going-logbench $(printf 'x%.0s' $(seq 60))"

# bytes and lines written under DIR (the current file and any rotated ones)
bytes() { du -sb "$1" | cut -f1; }
lines() { find "$1" -type f -exec cat {} + | wc -l; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'; }
rate() { awk -v n="$1" -v s="$secs" -v d="$2" 'BEGIN { printf "%.1f", n / s / d }'; }

# One run of a sink: prints "BYTES LINES".
run_going() { # EXTRA-CONFIG-LINE
    local d=$tmp/g.$RANDOM
    mkdir -p "$d/d" "$d/log"
    printf 'cmd=/usr/bin/yes %s\nlog=%s/log/out\nlog_size=1000000M\n%s\n' "$line" "$d" "$1" >"$d/d/flood"
    "$going" -d "$d/d" -s "$d/sock" 2>"$d/going.log" & local p=$!; pids+=($p)
    sleep "$secs"
    kill -TERM "$p"; wait "$p" 2>/dev/null
    echo "$(bytes "$d/log") $(lines "$d/log")"
    rm -rf "$d"
}
run_peer() { # DIR COMMAND... : yes | COMMAND, in its own process group
    local d=$1; shift
    mkdir -p "$d"
    setsid bash -c "exec /usr/bin/yes '$line' | $*" & local p=$!
    sleep "$secs"
    kill -TERM -- "-$p" 2>/dev/null; wait "$p" 2>/dev/null
    echo "$(bytes "$d") $(lines "$d")"
    rm -rf "$d"
}
svlogd_dir() { mkdir -p "$1"; echo s1000000000 >"$1/config"; echo "$1"; }

names=() ; declare -A cmd res
add() { names+=("$1"); cmd[$1]=$2; }
add "going log=FILE" 'run_going ""'
add "going log=FILE log_time=utc" 'run_going log_time=utc'
if command -v svlogd >/dev/null; then
    add "svlogd (runit)" 'run_peer "$(svlogd_dir $tmp/sv)" "svlogd $tmp/sv"'
    add "svlogd -tt (runit)" 'run_peer "$(svlogd_dir $tmp/svt)" "svlogd -tt $tmp/svt"'
fi
if command -v s6-log >/dev/null; then
    add "s6-log" 'run_peer "$tmp/s6" "s6-log -b s1000000000 $tmp/s6"'
    add "s6-log T" 'run_peer "$tmp/s6t" "s6-log -b T s1000000000 $tmp/s6t"'
fi
for r in $(seq "$rounds"); do
    for n in "${names[@]}"; do res[$n]+="$(eval "${cmd[$n]}")"$'\n'; done
done

echo "Service output into a file: one flooding \`yes\` ($(( ${#line} + 1 ))-byte lines), ${secs} s each, median of ${rounds} rounds taken in turn."
echo
echo "| sink | MB/s written | klines/s |"
echo "|---|---:|---:|"
for n in "${names[@]}"; do
    b=$(printf '%s' "${res[$n]}" | cut -d' ' -f1 | median)
    l=$(printf '%s' "${res[$n]}" | cut -d' ' -f2 | median)
    echo "| $n | $(rate "$b" 1e6) | $(rate "$l" 1e3) |"
done
for n in svlogd s6-log; do command -v "$n" >/dev/null || echo "| $n | not installed | |"; done
plain=$(printf '%s' "${res["going log=FILE"]}" | cut -d' ' -f2 | median)
utc=$(printf '%s' "${res["going log=FILE log_time=utc"]}" | cut -d' ' -f2 | median)
pb=$(printf '%s' "${res["going log=FILE"]}" | cut -d' ' -f1 | median)
ub=$(printf '%s' "${res["going log=FILE log_time=utc"]}" | cut -d' ' -f1 | median)
awk -v p="$plain" -v u="$utc" -v pb="$pb" -v ub="$ub" 'BEGIN { if (p > 0 && pb > 0)
    printf "\nlog_time=utc ÷ plain: %.2f× in lines, %.2f× in bytes written\n", u / p, ub / pb }'

# ---- log=syslog ------------------------------------------------------------
# A sink that counts datagrams at a path; going and busybox logger reach it
# as /dev/log inside a mount namespace whose /dev is a tmpfs of their own.
syslog_part() {
    [[ $(id -u) == 0 ]] || { echo "syslog: needs root (a private mount namespace)"; return; }
    command -v unshare >/dev/null || { echo "syslog: no unshare"; return; }
    local cc=${CC:-cc}
    command -v "$cc" >/dev/null || { echo "syslog: no C compiler for the sink"; return; }
    cat >"$tmp/sink.c" <<'EOF'
/* Counts the datagrams sent to a Unix socket until SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
static volatile sig_atomic_t done;
static void stop(int s) { (void)s; done = 1; }
int main(int argc, char **argv) {
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    struct sigaction sa = { .sa_handler = stop };
    static char buf[65536];
    unsigned long long n = 0, bytes = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0), big = 1 << 22;
    if (argc < 3 || fd < 0) return 1;
    strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
    unlink(argv[1]);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    sigaction(SIGTERM, &sa, 0);  /* no SA_RESTART: recv returns */
    while (!done) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) { n++; bytes += (unsigned long long)r; }
    }
    FILE *f = fopen(argv[2], "w");
    if (f) { fprintf(f, "%llu %llu\n", bytes, n); fclose(f); }
    return 0;
}
EOF
    "$cc" -O2 -o "$tmp/sink" "$tmp/sink.c" || { echo "syslog: the sink did not build"; return; }
    local ns="mount -t tmpfs -o mode=0755 logbench /dev && mknod -m 666 /dev/null c 1 3 && ln -s $tmp/log.sock /dev/log"
    declare -A sres
    for r in $(seq "$rounds"); do
        for who in going logger; do
            "$tmp/sink" "$tmp/log.sock" "$tmp/count" & local s=$!; pids+=($s)
            sleep 0.2
            if [[ $who == going ]]; then
                mkdir -p "$tmp/sy/d"
                printf 'cmd=/usr/bin/yes %s\nlog=syslog\n' "$line" >"$tmp/sy/d/flood"
                unshare -m --propagation private /bin/sh -c "$ns && exec $going -d $tmp/sy/d -s $tmp/sy/sock" \
                    2>"$tmp/sy/going.log" & local p=$!
            else
                setsid unshare -m --propagation private /bin/sh -c \
                    "$ns && exec /usr/bin/yes '$line' | busybox logger -t flood" & local p=$!
            fi
            sleep "$secs"
            if [[ $who == going ]]; then kill -TERM "$p"; else kill -TERM -- "-$p" 2>/dev/null; fi
            wait "$p" 2>/dev/null
            sleep 0.2
            kill -TERM "$s"; wait "$s" 2>/dev/null
            sres[$who]+="$(cat "$tmp/count")"$'\n'
            if [[ $who == going ]]; then
                local dropped
                dropped=$(sed -n 's/^going: flood: \([0-9]*\) lines dropped while syslog was unavailable$/\1/p' \
                    "$tmp/sy/going.log" | awk '{ s += $1 } END { print s + 0 }')
                sres[drop]+="$dropped"$'\n'
                rm -rf "$tmp/sy"
            fi
        done
    done
    echo
    echo "Service output to syslog: the same \`yes\` into a datagram sink that only counts, at a private /dev/log, ${secs} s each, median of ${rounds}."
    echo
    echo "| writer | lines/s delivered | MB/s delivered (with the tag) | lines dropped (counted) |"
    echo "|---|---:|---:|---:|"
    for who in going logger; do
        local b l
        b=$(printf '%s' "${sres[$who]}" | cut -d' ' -f1 | median)
        l=$(printf '%s' "${sres[$who]}" | cut -d' ' -f2 | median)
        local label="going log=syslog" d
        d=$(printf '%s' "${sres[drop]}" | median)
        [[ $who == logger ]] && { label="busybox logger (blocks when full)"; d="none (it waits)"; }
        echo "| $label | $(rate "$l" 1) | $(rate "$b" 1e6) | $d |"
    done
}
if command -v busybox >/dev/null; then syslog_part; else echo; echo "syslog: busybox not installed"; fi

# ---- VmPeak with 128 services that all log a line ten times a second -------
vmpeak() { # EXTRA-CONFIG-LINE
    local d=$tmp/m.$RANDOM
    mkdir -p "$d/d" "$d/log"
    for i in $(seq -w 1 128); do
        printf "cmd=/bin/sh -c 'while :; do echo tick; sleep 0.1; done'\nlog=%s/log/s%s\n%s\n" "$d" "$i" "$1" >"$d/d/s$i"
    done
    "$going" -d "$d/d" -s "$d/sock" 2>"$d/going.log" & local p=$!; pids+=($p)
    sleep 3
    echo "$(grep -E 'VmPeak|VmRSS' /proc/$p/status | tr -s ' \t\n' ' ')$(ls "$d/log" | wc -l) log files"
    kill -TERM "$p"; wait "$p" 2>/dev/null
    rm -rf "$d"
}
echo
echo "going with 128 services all logging: $(vmpeak "")"
echo "going with 128 services all logging, log_time=utc: $(vmpeak log_time=utc)"

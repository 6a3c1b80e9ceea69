#!/usr/bin/env bash
# bench/ready-chain.sh — what readiness and order cost (SPEC §9, issue 12).
#
#   bench/ready-chain.sh [RUNS]      (default 10; make bench calls it)
#
# A chain of 32 services, each `ready=fd:3` and `after=` the one before,
# started by a fresh going: for each link, the time from the dependency's
# newline on fd 3 to its dependent's first instruction ("link"), and from
# going's start to the last one up ("chain"); beside it the same 32 with no
# `after=` ("flat"). Then SIGTERM: the chain stops in reverse order; for
# each link, the time from a dependent's exit to its dependency's SIGTERM
# ("stop link"), and SIGTERM to going's exit ("stop all").
# The service is bench/readychain.c, static, stamping CLOCK_MONOTONIC.
# Medians (and the 90th percentile) over RUNS runs of every link.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-10}
N=32
BIN=${GOING_BIN:-./going}
[[ -x $BIN ]] || { echo "ready-chain: no $BIN (make build)" >&2; exit 1; }
command -v musl-gcc >/dev/null || { echo "ready-chain: musl-gcc not found (apt-get install musl-tools)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/going-ready-chain.XXXXXX")
gpid=
cleanup() {
    [[ -n $gpid ]] && kill -KILL "$gpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
musl-gcc -static -Os -o "$work/readychain" bench/readychain.c

now_ns() { date +%s%N; }

# One run: DIR holds the config; prints nothing, leaves stamps in $work/stamps.
run_once() {
    local chained=$1
    rm -rf "$work/d" "$work/stamps" "$work/sock"*
    mkdir -p "$work/d"
    local i prev=""
    for ((i = 0; i < N; i++)); do
        local name
        name=$(printf 's%02d' "$i")
        {
            echo "cmd=$work/readychain $work/stamps $name fd"
            echo "ready=fd:3"
            [[ $chained == yes && -n $prev ]] && echo "after=$prev"
        } >"$work/d/$name"
        prev=$name
    done
    local t0
    t0=$(awk '{print $1 * 1000000000}' /proc/uptime)
    "$BIN" -d "$work/d" -s "$work/sock" 2>"$work/log" &
    gpid=$!
    # The start of going itself, on the services' clock.
    echo "going start $(clock)" >>"$work/stamps"
    local deadline=$((SECONDS + 20))
    until [[ $(grep -c ' ready ' "$work/stamps" 2>/dev/null || true) -ge $N ]]; do
        ((SECONDS < deadline)) || { echo "ready-chain: not all ready; log:" >&2; cat "$work/log" >&2; exit 1; }
        sleep 0.01
    done
    sleep 0.05
    echo "going term $(clock)" >>"$work/stamps"
    kill -TERM "$gpid"
    wait "$gpid" || true
    echo "going exit $(clock)" >>"$work/stamps"
    gpid=
    : "$t0"
}

# CLOCK_MONOTONIC in ns, as the services stamp it.
clock() { awk '{printf "%d\n", $1 * 1000000000}' /proc/uptime; }

cat >"$work/mono.c" <<'C'
#include <stdio.h>
#include <time.h>
int main(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  printf("%lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec); return 0; }
C
musl-gcc -static -Os -o "$work/mono" "$work/mono.c"
clock() { "$work/mono"; }

collect() {
    local kind=$1
    for ((r = 0; r < RUNS; r++)); do
        run_once "$kind"
        awk -v kind="$kind" -v n="$N" '
            $1 == "going" { g[$2] = $3; next }
            { t[$1, $2] = $3 }
            END {
                last = 0
                for (i = 0; i < n; i++) {
                    s = sprintf("s%02d", i)
                    if (t[s, "start"] > last) last = t[s, "start"]
                    if (kind == "yes" && i > 0) {
                        p = sprintf("s%02d", i - 1)
                        printf "link %.3f\n", (t[s, "start"] - t[p, "ready"]) / 1e6
                        printf "stoplink %.3f\n", (t[p, "term"] - t[s, "term"]) / 1e6
                    }
                }
                printf "%s %.3f\n", (kind == "yes" ? "chain" : "flat"), (last - g["start"]) / 1e6
                printf "%s %.3f\n", (kind == "yes" ? "stopall" : "flatstop"), (g["exit"] - g["term"]) / 1e6
            }' "$work/stamps" >>"$work/samples"
    done
}

: >"$work/samples"
collect yes
collect no

stat() {
    local key=$1
    awk -v k="$key" '$1 == k { print $2 }' "$work/samples" | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- - 0"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            p = v[int(NR * 0.9 + 0.5) < 1 ? 1 : int(NR * 0.9 + 0.5)]
            printf "%.3f %.3f %d\n", m, p, NR
        }'
}

printf '%-58s %10s %10s %8s\n' "ready chain of $N (ready=fd:3), $RUNS runs" "median ms" "p90 ms" "samples"
row() { read -r m p n < <(stat "$1"); printf '%-58s %10s %10s %8s\n' "$2" "$m" "$p" "$n"; }
row link "dependency ready -> dependent started (per link)"
row chain "going start -> last of the chain started"
row flat "going start -> last of the same $N without after= started"
row stoplink "SIGTERM: dependent exited -> its dependency's SIGTERM"
row stopall "SIGTERM -> going exited, chain (reverse order)"
row flatstop "SIGTERM -> going exited, without after="

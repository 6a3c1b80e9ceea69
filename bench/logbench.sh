#!/usr/bin/env bash
# bench/logbench.sh [SECONDS] — service output into a file: throughput of
# going's log=FILE beside svlogd (runit) and s6-log, each fed by the same
# flooding `yes`, one at a time; then VmPeak of going with 128 services
# that all log. Reports; asserts nothing about the peers.
set -u
secs=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
going=${GOING:-$here/going}
[[ -x $going ]] || { echo "logbench: build first (make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/going-logbench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
line="going-logbench $(printf 'x%.0s' $(seq 60))"

# bytes written under DIR (the current file and any rotated ones)
bytes() { du -sb "$1" | cut -f1; }
mbps() { awk -v b="$1" -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }

echo "| sink | MB/s over ${secs} s |"
echo "|---|---:|"

# going: one service, log=FILE, no rotation within the run
mkdir -p "$tmp/g/d" "$tmp/g/log"
printf 'cmd=/usr/bin/yes %s\nlog=%s/g/log/out\nlog_size=1000000M\n' "$line" "$tmp" >"$tmp/g/d/flood"
"$going" -d "$tmp/g/d" -s "$tmp/g/sock" 2>"$tmp/g/going.log" & pids+=($!)
sleep "$secs"
kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
echo "| going log=FILE | $(mbps "$(bytes "$tmp/g/log")") |"

peer() { # NAME COMMAND... : yes | COMMAND, in its own process group
    local name=$1; shift
    setsid bash -c "exec /usr/bin/yes '$line' | $*" & local p=$!
    sleep "$secs"
    kill -TERM -- "-$p" 2>/dev/null; wait "$p" 2>/dev/null
}
if command -v svlogd >/dev/null; then
    mkdir -p "$tmp/sv"; echo s1000000000 >"$tmp/sv/config"
    peer svlogd "svlogd $tmp/sv"
    echo "| svlogd (runit) | $(mbps "$(bytes "$tmp/sv")") |"
else echo "| svlogd (runit) | not installed |"; fi
if command -v s6-log >/dev/null; then
    peer s6-log "s6-log -b s1000000000 $tmp/s6"
    echo "| s6-log | $(mbps "$(bytes "$tmp/s6")") |"
else echo "| s6-log | not installed |"; fi

# VmPeak with 128 services that all log a line ten times a second
mkdir -p "$tmp/m/d" "$tmp/m/log"
for i in $(seq -w 1 128); do
    printf "cmd=/bin/sh -c 'while :; do echo tick; sleep 0.1; done'\nlog=%s/m/log/s%s\n" "$tmp" "$i" >"$tmp/m/d/s$i"
done
"$going" -d "$tmp/m/d" -s "$tmp/m/sock" 2>"$tmp/m/going.log" & p=$!; pids+=($p)
sleep 3
echo
echo "going with 128 services all logging: $(grep -E 'VmPeak|VmRSS' /proc/$p/status | tr -s ' \t\n' ' '), $(ls "$tmp/m/log" | wc -l) log files"
kill -TERM "$p"; wait "$p" 2>/dev/null

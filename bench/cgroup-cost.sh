#!/usr/bin/env bash
# bench/cgroup-cost.sh — what cgroups (SPEC §11) cost going at start.
#
#   bench/cgroup-cost.sh [ROUNDS]     (as root, on a machine with cgroup2)
#
# Measures going built by `make`, twice over: with cgroups (each service in
# its own cgroup) and without (the same going in a mount namespace whose
# /sys/fs/cgroup is an empty tmpfs, so it finds no cgroup2 and uses
# process groups). The modes alternate, round after round, so that the load
# of a shared machine falls on both alike.
#
#   respawn   50 services (benchtool stamp) up > 5 s; each in turn is
#             SIGKILLed and the time until its replacement has started is
#             taken (benchtool respawn-file: from the kill to the new
#             process's first instruction after exec, CLOCK_MONOTONIC);
#             median of the 50 per round
#   cold      256 such services: from going's exec to the last one running
#             (benchtool waitall); one figure per round, with the CPU time
#             going itself used by then (/proc/PID/schedstat), which the
#             load of other processes changes much less than the wall time
#
# Prints one line per round and mode, then the medians over the rounds and
# their ratios. ROUNDS defaults to 3.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${1:-3}
GOING=$ROOT/going
[[ -x $GOING ]] || make -C "$ROOT" --no-print-directory --quiet build >&2 || exit 2
[[ $(id -u) == 0 ]] || { echo "cgroup-cost: needs root (cgroups, mount namespaces)" >&2; exit 2; }

W=$(mktemp -d /tmp/going-cgcost.XXXXXX) || exit 2
# Services run it too ("stamp"): static, so no dynamic loader runs first.
TOOL=$W/benchtool
gcc -O2 -static -o "$TOOL" "$HERE/benchtool.c" 2>/dev/null || gcc -O2 -o "$TOOL" "$HERE/benchtool.c" || exit 2
GPID=
cleanup() {
	[[ -n $GPID ]] && kill -TERM "$GPID" 2>/dev/null && wait "$GPID" 2>/dev/null
	"$TOOL" killtag none "$W/" >/dev/null   # what a failed run left: services are $TOOL
	rm -rf "$W"
}
trap cleanup EXIT

# start MODE DIR: going on DIR/svc, its exec time in DIR/t0
start() {
	local mode=$1 d=$2
	if [[ $mode == on ]]; then
		"$TOOL" t0 "$d/t0" "$GOING" -d "$d/svc" -s "$d/sock" >"$d/log" 2>&1 </dev/null &
	else
		unshare -m sh -c 'mount -t tmpfs none /sys/fs/cgroup && exec "$@"' sh \
			"$TOOL" t0 "$d/t0" "$GOING" -d "$d/svc" -s "$d/sock" >"$d/log" 2>&1 </dev/null &
	fi
	GPID=$!
}

stop() {
	kill -TERM "$GPID" 2>/dev/null
	wait "$GPID" 2>/dev/null
	GPID=
}

# services DIR N: N services "benchtool stamp DIR/stamps/sNNN"
services() {
	local d=$1 n=$2 i
	rm -rf "$d" && mkdir -p "$d/svc" "$d/stamps"
	for ((i = 0; i < n; i++)); do
		printf 'cmd=%s stamp %s/stamps/s%03d\n' "$TOOL" "$d" "$i" >"$d/svc/$(printf 's%03d' "$i")"
	done
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "none" }'; }

respawn() { # MODE
	local d=$W/r-$1 i r
	services "$d" 50
	start "$1" "$d"
	"$TOOL" waitall "$d/stamps" 50 15000 "$d/t0" >/dev/null
	: >"$d/times"
	for ((i = 0; i < 50; i++)); do
		r=$("$TOOL" respawn-file "$(printf '%s/stamps/s%03d' "$d" "$i")" 5200 10000)
		[[ $r =~ ^[0-9]+$ ]] && echo "$r" >>"$d/times"
		sleep 0.05
	done
	stop
	printf '%s %s\n' "$(median <"$d/times")" "$(wc -l <"$d/times")"
}

cold() { # MODE
	local d=$W/c-$1 up
	services "$d" 256
	sync
	sleep 0.5
	start "$1" "$d"
	up=$("$TOOL" waitall "$d/stamps" 256 60000 "$d/t0")
	cpu=$(awk '{ printf "%d", $1 / 1000 }' "/proc/$GPID/schedstat")
	stop
	echo "$up $cpu"
}

: >"$W/results"
for ((round = 1; round <= ROUNDS; round++)); do
	for mode in on off; do
		r=$(respawn "$mode")
		c=$(cold "$mode")
		printf 'round %d  cgroups %-3s  respawn median %s us (%s samples)  cold start of 256 %s us, going CPU %s us\n' \
			"$round" "$mode" "${r% *}" "${r#* }" "${c% *}" "${c#* }"
		echo "$mode ${r% *} $c" >>"$W/results"
	done
done
for mode in on off; do
	rm=$(awk -v m="$mode" '$1 == m { print $2 }' "$W/results" | median)
	cm=$(awk -v m="$mode" '$1 == m { print $3 }' "$W/results" | median)
	um=$(awk -v m="$mode" '$1 == m { print $4 }' "$W/results" | median)
	printf 'cgroups %-3s  respawn %s us  cold start %s us, going CPU %s us (medians over %d rounds)\n' \
		"$mode" "$rm" "$cm" "$um" "$ROUNDS"
	echo "$mode $rm $cm $um" >>"$W/medians"
done
awk '{ r[$1] = $2; c[$1] = $3; u[$1] = $4 } END {
	if (r["off"] > 0 && c["off"] > 0 && u["off"] > 0)
		printf "with cgroups / without: respawn %.2f, cold start %.2f, going CPU in the cold start %.2f\n",
			r["on"] / r["off"], c["on"] / c["off"], u["on"] / u["off"] }' "$W/medians"

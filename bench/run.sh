#!/usr/bin/env bash
# bench/run.sh — going beside the original C going, runit, s6, daemontools
# and busybox runsv, over a floor: a minimal C supervisor.
#
#   bench/run.sh [--quick] [--keep] [--only "KIND ..."] [--rounds N] [--cpus LIST]
#
#   --quick    short runs (CI, under 4 minutes); full mode makes the README table
#   --keep     keep the temp dir (logs of every supervisor run, raw samples)
#   --only     measure only these kinds or families: going going@REV going-c
#              going-nocg (this going without cgroups) floor (every floor)
#              floor-fork floor-cgroup floor-cgroup-fork runit s6 daemontools
#              busybox
#   --rounds   repeat every workload N times, kinds interleaved (full: 2,
#              quick: 1); the spread between the rounds' medians is reported
#   --cpus     run the whole bench (and so every supervisor) on these CPUs
#
# Environment:
#   GOING_REV="REV ..."        more going rows, each built from a git revision
#                              of this repository (git archive + make build in
#                              the temp dir). Full mode's default: c4c08a9
#                              (0.1.0); quick: none. GOING_REV= disables.
#   GOING_BIN="PATH[=LABEL] ..."  more going rows from ready binaries (no spaces)
#   GOING_C_SRC=DIR            the original C going (default: the first of
#                              ../shared/peers/going-c, /work/shared/peers/going-c)
#
# Every supervisor starts the same service, bench/svc.c built static with
# musl: it stamps CLOCK_MONOTONIC into the bench's FIFO and waits. Each kind
# runs on private directories under a temp dir on tmpfs; their 64-service
# sessions run side by side (idle) while respawn and pickup samples take
# turns, and cold starts run one supervisor at a time, kinds alternating.
# Prints Markdown and writes bench/results.md and bench/results.tsv (raw
# figures; bench/compare.sh compares two of them). It reports what it
# measured and asserts nothing; it exits non-zero only when the bench itself
# broke. bench/analysis.md explains the misses; bench/profile.sh measures
# where going's memory and time go.
#
# Adding a row: see "ADDING A ROW" below, above the workloads.
#
# The whole script is one brace group: bash parses all of it before it runs,
# so editing this file during a run cannot derail that run.
# shellcheck disable=SC2317 # functions run from traps and as "wl_$name"
{
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

QUICK=0 KEEP=0 ONLY="" ROUNDS="" CPUS=""
while (($#)); do
	case $1 in
	--quick) QUICK=1 ;;
	--keep) KEEP=1 ;;
	--only) ONLY=${2:?--only needs a list}; shift ;;
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
	--cpus) CPUS=${2:?--cpus needs a CPU list}; shift ;;
	-h|--help) sed -n "2,33p" "$0"; exit 0 ;;
	*) echo "bench: unknown argument: $1" >&2; exit 64 ;;
	esac
	shift
done

# Samples per kind and round. Respawn kills 64 different services in turn,
# each up > 5 s; s6 restarts after a fixed 1 s, so it gets fewer.
if ((QUICK)); then
	IDLE_S=3 RESP=20 RESP_S6=3 PICKS=7 PICKS_POLL=1 COLD_REPS=2 CRASH_S=0 STATUS_REPS=5
	SETTLE_S=1 QUIET_MAX_S=1 DEF_ROUNDS=1 DEF_REVS=""
else
	IDLE_S=10 RESP=60 RESP_S6=5 PICKS=20 PICKS_POLL=3 COLD_REPS=7 CRASH_S=30 STATUS_REPS=20
	SETTLE_S=2 QUIET_MAX_S=4 DEF_ROUNDS=2 DEF_REVS="c4c08a9"
fi
ROUNDS=${ROUNDS:-$DEF_ROUNDS}
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || { echo "bench: --rounds wants 1..99" >&2; exit 64; }
MINUP_MS=5200   # a service must be up > 5 s before it is killed (no backoff)
NSESSION=64     # services in the session: memory, idle, status, pickup, respawn
NCOLD=256       # services in the cold start and shutdown

START=$SECONDS
say() { printf '[bench %3ds] %s\n' $((SECONDS - START)) "$*" >&2; }

if [[ -n $CPUS ]]; then
	taskset -cp "$CPUS" $$ >/dev/null || { echo "bench: taskset -cp $CPUS failed" >&2; exit 64; }
fi

# One bench at a time on this machine: two would measure each other.
LOCK=${TMPDIR:-/tmp}/going-bench.lock
exec 9>>"$LOCK"
if ! flock -n 9; then
	say "another bench run holds $LOCK; waiting for it (at most 30 min)"
	flock -w 1800 9 || { echo "bench: another bench run is still going after 30 min" >&2; exit 2; }
	START=$SECONDS
fi

# The work dir is on a tmpfs, as /run is on most systems: going rewrites
# SOCKET.pids and runsv/s6-supervise/supervise their status files at every
# start, and on a disk file system those writes would be part of the figures
# (on this project's VM, ext4 mounted with discard, each replaced file costs
# a synchronous discard). BENCH_TMPDIR overrides.
TMPBASE=${BENCH_TMPDIR:-}
if [[ -z $TMPBASE ]]; then
	TMPBASE=/tmp
	[[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs && -w /dev/shm ]] && TMPBASE=/dev/shm
fi
W=$(mktemp -d "$TMPBASE/going-bench.XXXXXX") || { echo "bench: mktemp in $TMPBASE failed" >&2; exit 2; }
TMPFS=$(stat -f -c %T "$W" 2>/dev/null)
BIN=$W/bin                   # every program the bench builds; services are $BIN/svc-*
TOOL=$BIN/benchtool
FIFO=$W/stamps
SVC_SLEEP=$BIN/svc-sleep SVC_EXIT=$BIN/svc-exit FLOOR=$BIN/floor
# cgroup2 where going looks for it (SPEC §11), for the rows that compare
# with and without cgroups; none when not root
CG2=""
if (($(id -u) == 0)); then
	CG2=$(awk '$3 == "cgroup2" && ($2 == "/sys/fs/cgroup" || $2 == "/sys/fs/cgroup/unified") { print $2; exit }' /proc/mounts)
fi
mkdir -p "$BIN" "$W/build" "$W/s"
HELPERS=()       # collector processes
CUR_PID=         # the supervisor launched last
FIFO_FD="" COLL_FD=""

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${HELPERS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	# every supervisor of this bench (their tags start with the work dir's
	# name) and every service and helper it built, in one sweep
	[[ -x $TOOL ]] && "$TOOL" killtag "$(basename "$W")*" "$BIN/" >/dev/null
	[[ -n $COLL_FD ]] && exec {COLL_FD}<&-
	[[ -n $FIFO_FD ]] && exec {FIFO_FD}<&-
	wait 2>/dev/null
	# the cgroups of the goings and floors killed above (their names carry
	# the work dir's random part): the host is left as it was
	if [[ -n $CG2 ]]; then
		local d t
		for d in "$CG2"/*"bench.${W##*.}"*; do
			[[ -d $d ]] || continue
			for t in 1 2 3 4 5 6 7 8 9 10; do
				find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
				[[ -d $d ]] || break
				sleep 0.2
			done
			[[ -d $d ]] && echo "bench: could not remove the cgroup $d" >&2
		done
	fi
	if ((KEEP)); then echo "bench: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

declare -A R=()        # results: "kind:metric" -> value
declare -A SKIP=()     # kind -> why it was not measured
declare -A NOTE=()     # kind -> a remark for the report

# ---------------------------------------------------------------- small helpers

# Wait until the machine is quiet (< 10 % CPU busy over 300 ms), at most QUIET_MAX_S.
QUIET_WAITS=0 BUSY_WAITS=0
quiesce() {
	local end=$((SECONDS + QUIET_MAX_S)) a b t1 i1 t2 i2
	QUIET_WAITS=$((QUIET_WAITS + 1))
	while ((SECONDS <= end)); do
		read -ra a </proc/stat; sleep 0.3; read -ra b </proc/stat
		t1=$((a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7] + a[8])); i1=$((a[4] + a[5]))
		t2=$((b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8])); i2=$((b[4] + b[5]))
		(((t2 - t1) > 0 && 100 * ((t2 - t1) - (i2 - i1)) / (t2 - t1) < 10)) && return 0
	done
	BUSY_WAITS=$((BUSY_WAITS + 1))
	return 0
}

# microseconds -> milliseconds text
ms() {
	awk -v u="$1" 'BEGIN{ if (u !~ /^[0-9.]+$/) { print u; exit }
		m = u / 1000; if (m < 10) printf "%.2f", m; else if (m < 100) printf "%.1f", m; else printf "%.0f", m }'
}
commas() { awk -v n="$1" 'BEGIN{ if (n !~ /^[0-9]+$/) { print n; exit }
	s = ""; while (length(n) > 3) { s = "," substr(n, length(n) - 2) s; n = substr(n, 1, length(n) - 3) } print n s }'; }
word() { awk -v i="$2" '{print $i}' <<<"$1"; }

is_pid_alive() { # alive and not a zombie
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# proc_files NAME pids... -> /proc/PID/NAME for each pid, in FILES
proc_files() { local n=$1 p; shift; FILES=(); for p in "$@"; do FILES+=("/proc/$p/$n"); done; }
status_sum() { # field pids... -> sum of the field over /proc/PID/status
	local f=$1; shift
	(($#)) || { echo 0; return; }
	proc_files status "$@"
	awk -v f="$f:" '$1 == f { s += $2 } END { print s + 0 }' "${FILES[@]}" 2>/dev/null
}
pss_sum() {
	(($#)) || { echo 0; return; }
	proc_files smaps_rollup "$@"
	awk '$1 == "Pss:" { s += $2 } END { print s + 0 }' "${FILES[@]}" 2>/dev/null
}
ctx_sum() {
	(($#)) || { echo 0; return; }
	proc_files status "$@"
	awk '$1 ~ /^(non)?voluntary_ctxt_switches:$/ { s += $2 } END { print s + 0 }' "${FILES[@]}" 2>/dev/null
}

# ---------------------------------------------------------------- samples
# Every measurement is a line "ROUND VALUE" in $W/s/KIND/METRIC. After the
# runs, finish_stats turns each file into R[KIND:METRIC] (the median over
# all rounds), R[KIND:METRIC:n] (samples) and R[KIND:METRIC:spread] (the
# spread of the rounds' medians, % of the median; only with 2+ rounds).
ROUND=1
sample() { echo "$ROUND $3" >>"$W/s/$1/$2"; }   # $W/s/KIND/ is made before KIND runs

median_of() { sort -n | awk '{v[NR]=$1} END{ if (NR % 2) print v[(NR+1)/2]; else if (NR) printf "%.12g\n", (v[NR/2] + v[NR/2+1]) / 2 }'; }
quartile_of() { sort -n | awk '{v[NR]=$1} END{ if (NR) print v[int((NR+3)/4)] }'; }   # the lower quartile

finish_stats() {
	local f kind metric r m meds
	for f in "$W"/s/*/*; do
		[[ -f $f ]] || continue
		metric=${f##*/}; kind=${f%/*}; kind=${kind##*/}
		R[$kind:$metric]=$(awk '{print $2}' "$f" | median_of)
		R[$kind:$metric:p25]=$(awk '{print $2}' "$f" | quartile_of)
		R[$kind:$metric:n]=$(wc -l <"$f")
		meds=()
		for ((r = 1; r <= ROUNDS; r++)); do
			m=$(awk -v r="$r" '$1 == r {print $2}' "$f" | median_of)
			[[ -n $m ]] && meds+=("$m") && R[$kind:$metric:r$r]=$m
		done
		if ((${#meds[@]} > 1)); then
			R[$kind:$metric:spread]=$(printf '%s\n' "${meds[@]}" | awk -v m="${R[$kind:$metric]}" '
				NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 }
				END { if (m + 0 == 0) print (hi == lo ? 0 : "—"); else printf "%.0f", 100 * (hi - lo) / m }')
		fi
	done
}

# ---------------------------------------------------------------- kinds
# A kind is one row of supervisor: a family (how to write its services,
# launch, stop and query it), a label, and for the going families a binary
# and lines added to every service file. Report columns follow KINDS.
KINDS=()
declare -A KFAM=() KLABEL=() KBIN=() KEXTRA=()
add_kind() { # id family label [binary] [extra service-file lines]
	KINDS+=("$1"); KFAM[$1]=$2; KLABEL[$1]=$3; KBIN[$1]=${4:-}; KEXTRA[$1]=${5:-}
}
wanted() { # kind: on the --only list (by id or family), or no list
	[[ -z $ONLY ]] && return 0
	[[ " $ONLY " == *" $1 "* || " $ONLY " == *" ${KFAM[$1]:-} "* ]]
}
is_going() { [[ ${KFAM[$1]} == going ]]; }
# the kinds whose figures make "the best other peer"
is_peer() { case ${KFAM[$1]} in runit|s6|daemontools|busybox) return 0 ;; esac; return 1; }

# ---------------------------------------------------------------- building

need_pkg() { # command package: install the Debian package when the command is missing
	command -v "$1" >/dev/null && return 0
	if ! command -v apt-get >/dev/null || (($(id -u) != 0)); then
		say "$1 missing and cannot be installed here (no apt-get or not root)"
		return 1
	fi
	say "installing $2 from Debian"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get install -y -q --no-install-recommends "$2" >>"$W/apt.log" 2>&1 ||
		{ timeout 300 apt-get update -q >>"$W/apt.log" 2>&1 &&
		  timeout 300 apt-get install -y -q --no-install-recommends "$2" >>"$W/apt.log" 2>&1; } ||
		say "apt-get install $2 failed (see $W/apt.log)"
	command -v "$1" >/dev/null
}

CC_STATIC=
build_tools() {
	if need_pkg musl-gcc musl-tools; then
		CC_STATIC="musl-gcc -static -Os -s"
	else
		CC_STATIC="gcc -static -Os -s"
		NOTE[svc]="musl-gcc was not available: svc and floor are glibc static builds, larger and slower to start"
	fi
	if ! { gcc -O2 -Wall -o "$TOOL" "$HERE/benchtool.c" &&
		$CC_STATIC -DSTAMP_FIFO="\"$FIFO\"" -o "$SVC_SLEEP" "$HERE/svc.c" &&
		$CC_STATIC -DSTAMP_FIFO="\"$FIFO\"" -DSVC_EXIT -o "$SVC_EXIT" "$HERE/svc.c" &&
		$CC_STATIC -o "$FLOOR" "$HERE/floor.c"; } 2>"$W/cc.log"; then
		cat "$W/cc.log" >&2; echo "bench: cannot build the bench's own programs" >&2; exit 2
	fi
	mkfifo "$FIFO" || exit 2
	# Held open for the whole run: services' stamps wait in the pipe until read.
	exec {FIFO_FD}<>"$FIFO"
	"$TOOL" fifo "$FIFO" 1048576 >/dev/null
}

# going from this tree, the way `make build` makes and `make install` installs it
going_version() { # binary [rev]
	local v
	v=$(timeout 5 "$1" -V 2>/dev/null | head -n1)
	echo "${v:-going ?}${2:+ ($2)}"
}
GOING_VERSION=
build_going() {
	local bin=$ROOT/going rev
	say "building going (make build)"
	if ! timeout 900 make -C "$ROOT" build >"$W/cargo.log" 2>&1; then
		tail -n 15 "$W/cargo.log" >&2
		SKIP[going]="make build failed (see its output above)"
		return 1
	fi
	[[ -x $bin ]] || { SKIP[going]="no binary at $bin after make build"; return 1; }
	cp "$bin" "$BIN/going"
	KBIN[going]=$BIN/going
	if rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null); then
		[[ -n $(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]] && rev+=", with uncommitted changes"
		GOING_VERSION=$(going_version "$BIN/going" "commit $rev")
	else
		GOING_VERSION=$(going_version "$BIN/going" "uncommitted tree")
	fi
}

# going at another revision of this repository, built in the temp dir
build_going_rev() { # kind rev
	local k=$1 rev=$2 dir=$W/build/going-$2 full
	if ! full=$(git -C "$ROOT" rev-parse --verify -q "$rev^{commit}"); then
		SKIP[$k]="$rev is not a commit of this repository"; return 1
	fi
	mkdir -p "$dir"
	say "building going at $rev in $dir"
	if ! git -C "$ROOT" archive --format=tar "$full" | tar -x -C "$dir" ||
		! CARGO_TARGET_DIR=$dir/target timeout 900 make -C "$dir" build >"$W/cargo-$rev.log" 2>&1 ||
		[[ ! -x $dir/going ]]; then
		tail -n 15 "$W/cargo-$rev.log" >&2
		SKIP[$k]="make build at $rev failed"; return 1
	fi
	cp "$dir/going" "$BIN/going-$rev"
	rm -rf "$dir/target"
	KBIN[$k]=$BIN/going-$rev
	KLABEL[$k]="$(going_version "$BIN/going-$rev") @$rev"
}

# The original C going, from its source, static with musl.
build_going_c() {
	local src=${GOING_C_SRC:-} d
	if [[ -z $src ]]; then
		for d in "$ROOT/../shared/peers/going-c" /work/shared/peers/going-c; do
			[[ -f $d/src/going.c ]] && { src=$d; break; }
		done
	fi
	if [[ -z $src || ! -f $src/src/going.c ]]; then
		SKIP[going-c]="its source was not found (set GOING_C_SRC to the directory holding src/going.c)"; return 1
	fi
	if [[ $CC_STATIC != musl-gcc* ]]; then
		SKIP[going-c]="musl-gcc is not available"; return 1
	fi
	# a scratch copy: the build never writes into the peer's directory
	mkdir -p "$W/build/going-c"
	cp -R "$src/src" "$W/build/going-c/"
	if ! musl-gcc -std=gnu99 -Os -static -s -include limits.h -o "$BIN/going-c" \
		"$W/build/going-c/src/going.c" >"$W/going-c.log" 2>&1; then
		SKIP[going-c]="musl-gcc could not build it: $(head -c 200 "$W/going-c.log")"; return 1
	fi
	KBIN[going-c]=$BIN/going-c
	local ver
	ver=$(grep -Eo 'define VERSION "[^"]+"' "$W/build/going-c/src/going.h" 2>/dev/null | grep -Eo '[0-9][^"]*')
	KLABEL[going-c]="C going${ver:+ $ver}"
}

BBBIN=$W/bbbin
install_peers() {
	local bin k
	local -A need=([runit]=runsvdir [s6]=s6-svscan [daemontools]=svscan)
	for k in runit s6 daemontools; do
		wanted "$k" || continue
		need_pkg "${need[$k]}" "$k" >/dev/null || true
	done
	command -v runsvdir >/dev/null && command -v runsv >/dev/null && command -v sv >/dev/null ||
		SKIP[runit]="runit is not installed and could not be installed"
	command -v s6-svscan >/dev/null && command -v s6-svscanctl >/dev/null && command -v s6-svstat >/dev/null ||
		SKIP[s6]="s6 is not installed and could not be installed"
	command -v svscan >/dev/null && command -v supervise >/dev/null && command -v svc >/dev/null ||
		SKIP[daemontools]="daemontools is not installed and could not be installed"
	if ! command -v busybox >/dev/null; then
		SKIP[busybox]="busybox is not installed"
		return 0
	fi
	for bin in runsvdir runsv sv; do
		if ! busybox --list | grep -qx "$bin"; then
			SKIP[busybox]="this busybox ($(busybox 2>&1 | head -n1 | awk '{print $2}'), $(readlink -f "$(command -v busybox)")) has no $bin applet (Debian builds busybox without the runit applets)"
			return 0
		fi
	done
	mkdir -p "$BBBIN"
	for bin in runsvdir runsv sv; do ln -sf "$(command -v busybox)" "$BBBIN/$bin"; done
}

pkg_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }

# ---------------------------------------------------------------- one supervisor run
# A run lives in $RUN: svc/ (the scanned directory), stage/ (services about
# to be added), t0 (CLOCK_MONOTONIC at launch), recs (the services' stamps:
# "ns pid" lines, as collected at the start), live (the same, kept up to date
# as services are replaced), log (the supervisor's output).
#
# Several runs are alive at once (one per kind, during the session), so a
# run's state is kept per kind and `ctx KIND` makes one current: KIND, RUN,
# TAG, CUR_PID. Each kind's services are its own copies of svc-sleep and
# svc-exit under $BIN/k/KIND/, so killing "every process whose executable is
# under that directory" ends that kind's services and no other's.

KIND="" RUN="" TAG="" NSVC=0 NMODE=sleep
declare -A KRUN=() KTAG=() KPID=() KNSVC=()
ctx() { KIND=$1; RUN=${KRUN[$1]:-}; TAG=${KTAG[$1]:-}; CUR_PID=${KPID[$1]:-}; NSVC=${KNSVC[$1]:-0}; }
save_ctx() { KRUN[$KIND]=$RUN; KTAG[$KIND]=$TAG; KPID[$KIND]=$CUR_PID; KNSVC[$KIND]=$NSVC; }
kbin() { echo "$BIN/k/$KIND"; }   # the current kind's service programs

# Per-kind service programs: the same svc-sleep, and an svc-exit that stamps
# into the kind's own FIFO, so that crash loops of all kinds can run at once.
prepare_kind() { # kind
	local d=$BIN/k/$1
	mkdir -p "$d" "$W/s/$1"
	cp "$SVC_SLEEP" "$d/svc-sleep"
	mkfifo "$W/crash-$1.fifo"
	$CC_STATIC -DSTAMP_FIFO="\"$W/crash-$1.fifo\"" -DSVC_EXIT -o "$d/svc-exit" "$HERE/svc.c" 2>>"$W/cc.log"
}

new_run() { # label: a fresh run of $KIND
	RUN=$W/$KIND-$1-r$ROUND
	TAG=$(basename "$W")-$KIND-$1-r$ROUND
	rm -rf "$RUN"
	mkdir -p "$RUN/svc" "$RUN/stage"
	CUR_PID="" NSVC=0 NMODE=sleep
}

# add_service DIR NAME sleep|exit: one service, written the way $KIND reads it
add_service() {
	local dir=$1 name=$2 prog
	prog=$(kbin)/svc-$3
	case ${KFAM[$KIND]} in
	going) printf 'cmd=%s\n%s' "$prog" "${KEXTRA[$KIND]}" >"$dir/$name" ;;
	goingc) printf 'cmd=%s\n' "$prog" >"$dir/$name" ;;
	floor) NMODE=$3 ;;   # the floor takes a count and one program
	*) mkdir -p "$dir/$name"; ln -s "$prog" "$dir/$name/run" ;;
	esac
	return 0
}

populate() { # count mode
	local i
	for ((i = 0; i < $1; i++)); do add_service "$RUN/svc" "$(printf 's%03d' "$i")" "$2"; done
	NSVC=$1
}

# Launch the supervisor of $KIND on $RUN/svc, through `benchtool t0`.
launch() {
	local cmd=() pre=() path=$PATH
	case ${KFAM[$KIND]} in
	going) cmd=("${KBIN[$KIND]}" -d "$RUN/svc" -s "$RUN/sock")
		# no cgroup2 where it looks (SPEC §11): process groups instead.
		# The namespace is made before `benchtool t0` stamps the start,
		# so its cost (unshare, a shell, a mount: about 7 ms) is not
		# counted in the cold start.
		[[ $KIND == going-nocg ]] && pre=(unshare -m /bin/sh -c \
			'mount -t tmpfs none /sys/fs/cgroup && exec "$@"' sh) ;;
	goingc) cmd=("${KBIN[$KIND]}" -d "$RUN/svc") ;;
	floor)
		cmd=("$FLOOR" -w "$RUN/svc" "$NSVC" "$(kbin)/svc-$NMODE")
		[[ -n ${KEXTRA[$KIND]} ]] && cmd+=("${KEXTRA[$KIND]}")
		[[ ${KEXTRA[$KIND]} == cgroup* ]] && cmd+=("$CG2/$TAG") ;;
	runit) cmd=(runsvdir "$RUN/svc") ;;
	busybox) cmd=("$BBBIN/runsvdir" "$RUN/svc"); path=$BBBIN:$PATH ;;
	s6) cmd=(s6-svscan "$RUN/svc") ;;
	daemontools) cmd=(svscan) ;;   # scans its working directory
	esac
	(
		exec 9>&- {FIFO_FD}>&-
		[[ -n $COLL_FD ]] && exec {COLL_FD}<&-
		[[ -n $CRASH_FD ]] && exec {CRASH_FD}<&-
		cd "$RUN/svc" && PATH=$path exec env BENCH_TAG="$TAG" "${pre[@]}" "$TOOL" t0 "$RUN/t0" "${cmd[@]}"
	) >>"$RUN/log" 2>&1 </dev/null &
	CUR_PID=$!
	disown "$CUR_PID"   # no job report when it is killed; reaped by bash all the same
}

# The arguments of `benchtool shutdown` that stop $KIND as its manual says.
stop_args() {
	case ${KFAM[$KIND]} in
	going|goingc|floor) echo "-k 15 $CUR_PID" ;;
	runit|busybox) echo "-k 1 $CUR_PID" ;;           # runsvdir: HUP TERMs every runsv
	s6) echo "-- s6-svscanctl -t $RUN/svc" ;;
	daemontools) echo "-k 15 $CUR_PID -- svc -dx $RUN/svc/s*" ;;
	esac
}
declare -A STOPPED_BY=([going]="SIGTERM" [goingc]="SIGTERM (it TERMs each service and exits at once)"
	[floor]="SIGTERM" [runit]="SIGHUP to runsvdir" [busybox]="SIGHUP to runsvdir"
	[s6]="\`s6-svscanctl -t\`" [daemontools]="SIGTERM to svscan + \`svc -dx\` on all")

# The supervisor's own processes: one, or the scanner and its per-service supervisors.
sup_pids() {
	local c
	echo "$CUR_PID"
	case ${KFAM[$KIND]} in going|goingc|floor) return 0 ;; esac
	for c in $(pgrep -P "$CUR_PID"); do
		case $(cat "/proc/$c/comm" 2>/dev/null) in
		runsv|s6-supervise|supervise) echo "$c" ;;
		esac
	done
	return 0
}

# The collector: reads COUNT stamps from the FIFO while the services start.
# It is started (and has drained old stamps) before the launch; its answer
# is read after. Sets COLL_RES.
COLL_RES=""
collector_start() { # count timeout_ms
	local ready=""
	exec {COLL_FD}< <(exec "$TOOL" collect "$FIFO" "$1" "$2" "$RUN/t0" "$RUN/recs" {FIFO_FD}>&-)
	HELPERS+=($!)
	read -r -t 5 ready <&"$COLL_FD"
	[[ $ready == ready ]]
}
collector_result() { # timeout_s
	COLL_RES=""
	read -r -t "$1" COLL_RES <&"$COLL_FD" || COLL_RES="timeout (the collector did not answer)"
	exec {COLL_FD}<&-
	COLL_FD=""
}

# Start $KIND with its NSVC services and wait for all of them; 0 when they all run.
start_all() { # count timeout_ms
	if ! collector_start "$1" "$2"; then
		R[$KIND:fail]="the stamp collector did not start"; return 1
	fi
	launch
	collector_result $(($2 / 1000 + 5))
	if [[ $COLL_RES =~ ^[0-9]+\ [0-9]+$ ]]; then
		cp "$RUN/recs" "$RUN/live"
		return 0
	fi
	local why="the supervisor is running"
	is_pid_alive "$CUR_PID" || why="the supervisor had exited"
	[[ -s $RUN/log ]] && why+="; its last output: $(tail -n 2 "$RUN/log" | tr '\n|' '  ' | cut -c1-200)"
	R[$KIND:fail]="$1 services were not all running $(($2 / 1000)) s after launch (${COLL_RES#timeout }; $why)"
	return 1
}

# Stop everything of the current run by force (after the measurements).
finish_run() {
	[[ -n $TAG ]] && "$TOOL" killtag "$TAG" "$(kbin)/" >/dev/null
	local end=$((SECONDS + 5))
	while [[ -n $CUR_PID ]] && is_pid_alive "$CUR_PID" && ((SECONDS < end)); do sleep 0.05; done
	CUR_PID="" TAG=""
}

# ================================================================ ADDING A ROW
# A row is a metric that workloads record with `sample KIND METRIC VALUE`
# (one line per sample; medians, counts and round-to-round spread come for
# free) plus one `row` line in the report registry further down, which gives
# its label, unit (us, kB, B, n) and target. A workload is a function
# wl_NAME listed in WORKLOADS; they run in that order, once per round, over
# the kinds in ACTIVE. Inside one, `each FN` runs FN once per kind and
# `rr N FN` runs FN 0 … FN N-1 round-robin over the kinds (kind A's sample
# i, kind B's sample i, …, each turn starting one kind further on), so that
# load from outside the bench hits every kind alike; FN sees the kind as
# $KIND (`ctx` switches RUN, TAG, CUR_PID with it) and returns early for
# the kinds it does not apply to (their row then shows "—"). A going
# variant, e.g. going with cgroup=yes or with confinement keys in every
# service file, is one more `add_kind` line in main (same binary, extra
# service-file lines) and gets every row at once; a going-only workload
# such as a readiness chain of 32 services with ready=fd:3 and after= is a
# wl_chain that, for the going family only, writes its service files like
# add_service, starts them with new_run + start_all and samples the time
# to the last stamp.
WORKLOADS=(session memory idle status pickup respawn stop cold crash)
ACTIVE=()    # the kinds measured in this round

each() { local k; for k in "${ACTIVE[@]}"; do ctx "$k"; "$@"; save_ctx; done; }
# Each turn starts at the next kind: the first sample after a wait for quiet
# finds the CPUs idle and pays their wake-up (on this VM 0.05-0.08 ms more
# per respawn), and a fixed order put that on the first kind, going, every
# time.
rr() {
	local n=$1 i j k nk=${#ACTIVE[@]}; shift
	for ((i = 0; i < n; i++)); do
		((RR_QUIET)) && quiesce
		for ((j = 0; j < nk; j++)); do
			k=${ACTIVE[(i + j) % nk]}
			ctx "$k"; "$@" "$i"; save_ctx
		done
	done
}
RR_QUIET=0   # wait for a quiet machine before each turn of the kinds

# ---------------------------------------------------------------- workloads

# NSESSION services of every kind, all running at once (they are idle).
wl_session() {
	local k keep=()
	for k in "${ACTIVE[@]}"; do
		ctx "$k"
		new_run "n$NSESSION"
		populate "$NSESSION" sleep
		quiesce
		say "$KIND: start $NSESSION services"
		if start_all "$NSESSION" 15000; then
			keep+=("$k")
		else
			say "$KIND: ${R[$KIND:fail]}"
			finish_run
			# a kind that cannot start its first session is not measured at all
			((ROUND == 1)) && SKIP[$k]=${R[$k:fail]} && rm -rf "${W:?}/s/$k"
		fi
		save_ctx
	done
	ACTIVE=("${keep[@]}")
}

# VmPeak, VmRSS and PSS of the supervisor's processes with NSESSION services.
wl_memory() {
	sleep "$SETTLE_S"   # daemontools' supervise sleeps 1 s after each start
	each memory_one
}
memory_one() {
	local pids
	mapfile -t pids < <(sup_pids)
	sample "$KIND" procs64 "${#pids[@]}"
	sample "$KIND" peak64 "$(status_sum VmPeak "${pids[@]}")"
	sample "$KIND" rss64 "$(status_sum VmRSS "${pids[@]}")"
	sample "$KIND" pss64 "$(pss_sum "${pids[@]}")"
	sample "$KIND" peak64_1 "$(status_sum VmPeak "${pids[0]}")"
	sample "$KIND" rss64_1 "$(status_sum VmRSS "${pids[0]}")"
}

# Context switches of every kind's processes over the same IDLE_S seconds.
wl_idle() {
	local k pids
	local -A c1=()
	say "all: idle ${IDLE_S}s"
	for k in "${ACTIVE[@]}"; do ctx "$k"; mapfile -t pids < <(sup_pids); c1[$k]=$(ctx_sum "${pids[@]}"); done
	sleep "$IDLE_S"
	for k in "${ACTIVE[@]}"; do
		ctx "$k"; mapfile -t pids < <(sup_pids)
		sample "$k" idle $(($(ctx_sum "${pids[@]}") - c1[$k]))
	done
}

wl_status() { say "all: status x$STATUS_REPS"; each status_one; }
status_one() {
	local dirs=("$RUN"/svc/s*) r=""
	case ${KFAM[$KIND]} in
	going)
		if timeout 5 "${KBIN[$KIND]}" status -s "$RUN/sock" >"$RUN/status.out" 2>&1; then
			r=$("$TOOL" timeit "$STATUS_REPS" -- "${KBIN[$KIND]}" status -s "$RUN/sock")
		fi
		R[$KIND:statuscmd]="going status" ;;
	runit) r=$("$TOOL" timeit "$STATUS_REPS" -- sv status "${dirs[@]}"); R[$KIND:statuscmd]="sv status DIR×64" ;;
	busybox) r=$("$TOOL" timeit "$STATUS_REPS" -- "$BBBIN/sv" status "${dirs[@]}"); R[$KIND:statuscmd]="busybox sv status DIR×64" ;;
	s6) r=$("$TOOL" timeit "$STATUS_REPS" -each -- s6-svstat "${dirs[@]}"); R[$KIND:statuscmd]="s6-svstat DIR, 64 runs" ;;
	daemontools) r=$("$TOOL" timeit "$STATUS_REPS" -- svstat "${dirs[@]}"); R[$KIND:statuscmd]="svstat DIR×64" ;;
	*) return 0 ;;
	esac
	[[ $r =~ ^[0-9]+\ [0-9]+$ ]] && sample "$KIND" status "${r%% *}"
	return 0
}

# A new service: its file (or service directory) is renamed into the scanned
# directory; the time to its stamp.
wl_pickup() { say "all: pickup x$PICKS ($PICKS_POLL for the polling peers)"; RR_QUIET=1; rr "$PICKS" pickup_one; RR_QUIET=0; }
pickup_one() { # i
	local i=$1 name=new$1 r timeout_ms=1000 hup=0 delay=200 cmd=()
	case ${KFAM[$KIND]} in
	floor) : >"$RUN/stage/$name" ;;                 # any name: one more copy
	goingc) hup=$CUR_PID ;;                         # no inotify: it rescans on SIGHUP only
	s6) cmd=(s6-svscanctl -a "$RUN/svc"); timeout_ms=3000 ;;
	runit|busybox|daemontools)                      # they look every 5 s: add at a random phase
		((i < PICKS_POLL)) || return 0
		timeout_ms=8000 delay=$((RANDOM % 5000)) ;;
	esac
	add_service "$RUN/stage" "$name" sleep
	sleep "$(awk -v d="$delay" 'BEGIN{printf "%.3f", d/1000}')"
	r=$("$TOOL" pickup "$FIFO" "$timeout_ms" "$hup" "$RUN/stage/$name" "$RUN/svc/$name" "${cmd[@]}")
	if [[ $r =~ ^[0-9]+[[:space:]] ]]; then sample "$KIND" pick "${r%% *}"
	else R[$KIND:pickfail]="$name not running ${timeout_ms} ms after it was added"; fi
}

# Kill service i (up > 5 s: no backoff anywhere); the time to its replacement's stamp.
wl_respawn() { say "all: respawn x$RESP ($RESP_S6 for s6)"; RR_QUIET=1; rr "$RESP" respawn_one; RR_QUIET=0; }
# A killed service must itself be scheduled to die; when that took over
# DEAD_MAX_US (load from outside the bench, nothing a supervisor can help),
# the sample is taken again on the next service, at most twice.
DEAD_MAX_US=1000
declare -A KRESPJ=()
respawn_one() { # i
	local i=$1 live r ns pid j try
	[[ ${KFAM[$KIND]} == s6 ]] && ((i >= RESP_S6)) && return 0
	mapfile -t live <"$RUN/live"
	for ((try = 0; try < 3; try++)); do
		j=$((${KRESPJ[$KIND]:-0} % ${#live[@]}))
		KRESPJ[$KIND]=$((j + 1))
		read -r ns pid <<<"${live[j]}"
		r=$("$TOOL" respawn "$FIFO" "$pid" "$ns" "$MINUP_MS" 10000)
		if [[ ! $r =~ ^[0-9]+\ [0-9]+\ [0-9]+\ -?[0-9]+$ ]]; then
			R[$KIND:respfail]="respawn of service $j: $r (no replacement within 10 s)"
			return 0
		fi
		live[j]="$(word "$r" 3) $(word "$r" 2)"
		printf '%s\n' "${live[@]}" >"$RUN/live"
		sample "$KIND" resp_dead "$(word "$r" 4)"
		if (($(word "$r" 4) > DEAD_MAX_US && try < 2)); then
			R[$KIND:resp_retried]=$((${R[$KIND:resp_retried]:-0} + 1))
			continue
		fi
		sample "$KIND" resp "${r%% *}"
		return 0
	done
}

wl_stop() { each finish_run; quiesce; }

# NCOLD services: cold start, VmPeak with the table full, shutdown; the
# repetitions go round-robin over the kinds.
wl_cold() { rr "$COLD_REPS" cold_one; }
cold_one() { # rep
	local rep=$1 sd want=$NCOLD cap sp
	[[ -n ${R[$KIND:coldfail]:-} ]] && return 0
	new_run "c$NCOLD-$rep"
	populate "$NCOLD" sleep
	if is_going "$KIND"; then
		# fixed-size tables: ask it how many it accepts
		timeout 10 "${KBIN[$KIND]}" check -d "$RUN/svc" >"$RUN/check.out" 2>&1
		cap=$(grep -Eo '[0-9]+ valid services' "$RUN/check.out" | tail -n1 | awk '{print $1}')
		if [[ $cap =~ ^[0-9]+$ ]] && ((cap < NCOLD)); then
			want=$cap
			R[$KIND:coldcap]=$cap
		fi
	fi
	quiesce
	say "$KIND: cold start of $want (#$((rep + 1)))"
	if ! start_all "$want" 60000; then
		R[$KIND:coldfail]=${R[$KIND:fail]}; finish_run; return 0
	fi
	sample "$KIND" cold "${COLL_RES%% *}"
	sample "$KIND" cold_first "${COLL_RES##* }"
	sleep 1; quiesce
	sup_pids >"$RUN/suppids"
	if ((rep == 0 && ROUND == 1)); then
		mapfile -t sp <"$RUN/suppids"
		sample "$KIND" peak256 "$(status_sum VmPeak "${sp[@]}")"
		sample "$KIND" rss256 "$(status_sum VmRSS "${sp[@]}")"
		sample "$KIND" peak256_1 "$(status_sum VmPeak "${sp[0]}")"
	fi
	# shellcheck disable=SC2046 # stop_args is a list of words
	sd=$("$TOOL" shutdown "$RUN/recs" 30000 -s "$RUN/suppids" $(stop_args))
	case $sd in
	timeout:*) R[$KIND:shutfail]="${sd%% *} of $want services still running 30 s after the stop request" ;;
	*) sample "$KIND" shut "${sd%% *}" ;;
	esac
	case ${sd#* } in
	timeout:*) R[$KIND:shutlinger]="${sd#* } supervisor processes still running 30 s after the stop request" ;;
	*) sample "$KIND" shutsup "${sd#* }" ;;
	esac
	sd=$("$TOOL" killtag "$TAG" "$(kbin)/")
	((sd > 0)) && R[$KIND:shutleft]=$sd
	finish_run
}

# One service that exits at once, for CRASH_S s, every kind at the same
# time (each stamps into its own FIFO): restarts and supervisor CPU.
CRASH_FD=""
wl_crash() {
	local k pids
	((CRASH_S > 0 && ROUND == 1)) || return 0
	say "all: crash loop for ${CRASH_S}s"
	for k in "${ACTIVE[@]}"; do
		ctx "$k"
		[[ ${KFAM[$k]} == floor ]] && continue   # it restarts at once, forever: a busy loop
		exec {CRASH_FD}<>"$W/crash-$k.fifo"
		KCRASHFD[$k]=$CRASH_FD
		new_run crash
		populate 1 exit
		launch
		save_ctx
	done
	CRASH_FD=""
	sleep "$CRASH_S"
	for k in "${ACTIVE[@]}"; do
		[[ -n ${KCRASHFD[$k]:-} ]] || continue
		ctx "$k"
		mapfile -t pids < <(sup_pids)
		sample "$k" crashcpu "$("$TOOL" sched "${pids[@]}")"
		sample "$k" crashspawns "$("$TOOL" drain "$W/crash-$k.fifo")"
		finish_run
		CRASH_FD=${KCRASHFD[$k]}
		exec {CRASH_FD}<&-
		CRASH_FD=""
		save_ctx
	done
}
declare -A KCRASHFD=()

# ---------------------------------------------------------------- main

build_tools
add_kind going going "going"
for rev in ${GOING_REV-$DEF_REVS}; do add_kind "going@$rev" going "going @$rev"; done
i=0
for spec in ${GOING_BIN:-}; do
	i=$((i + 1))
	add_kind "going#$i" going "${spec#*=}" "${spec%%=*}"
	[[ $spec == *=* ]] || KLABEL[going#$i]="going ($spec)"
done
add_kind going-nocg going "going, no cgroups"
add_kind going-c goingc "C going"
add_kind floor floor "floor: vfork"
add_kind floor-fork floor "floor: fork" "" fork
add_kind floor-cgroup floor "floor: fork into cgroups" "" cgroup
add_kind floor-cgroup-fork floor "floor: fork into cgroups, overlapped" "" cgroup-fork
add_kind runit runit "runit"
add_kind s6 s6 "s6"
add_kind daemontools daemontools "daemontools"
add_kind busybox busybox "busybox runsv"
install_peers

for k in "${KINDS[@]}"; do
	wanted "$k" || continue
	case $k in
	going) build_going ;;
	going@*) build_going_rev "$k" "${k#going@}" ;;
	going-c) build_going_c ;;
	going\#*) [[ -x ${KBIN[$k]} ]] || SKIP[$k]="${KBIN[$k]} is not an executable" ;;
	going-nocg|floor-cgroup|floor-cgroup-fork)
		if [[ -z $CG2 ]]; then SKIP[$k]="no cgroup2 mounted (or not root): nothing to compare"
		elif [[ $k == going-nocg ]] && ! unshare -m true 2>/dev/null; then SKIP[$k]="no mount namespace (unshare -m)"
		elif [[ $k == going-nocg ]]; then
			[[ -n ${KBIN[going]:-} || -n ${SKIP[going]:-} ]] || build_going
			# its own copy: two rows running one file would share its
			# text pages, and each would show half of it in PSS
			if [[ -n ${KBIN[going]:-} ]] && cp "${KBIN[going]}" "$BIN/going-nocg"; then
				KBIN[$k]=$BIN/going-nocg
			else SKIP[$k]="going did not build"; fi
		fi ;;
	esac
done
# a revision that builds the very binary of this tree adds nothing
for k in "${KINDS[@]}"; do
	if [[ $k == going@* && -z ${SKIP[$k]:-} && -n ${KBIN[going]:-} ]] && cmp -s "${KBIN[$k]}" "${KBIN[going]}"; then
		SKIP[$k]="the same binary as this tree's going"
	fi
done

RUN_KINDS=()
for k in "${KINDS[@]}"; do
	wanted "$k" || continue
	RUN_KINDS+=("$k")
	if [[ -n ${SKIP[$k]:-} ]]; then say "$k: skipped: ${SKIP[$k]}"; else prepare_kind "$k"; fi
done

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	ACTIVE=()
	for k in "${RUN_KINDS[@]}"; do [[ -z ${SKIP[$k]:-} ]] && ACTIVE+=("$k"); done
	say "== round $ROUND of $ROUNDS: ${ACTIVE[*]}"
	for wl in "${WORKLOADS[@]}"; do
		((${#ACTIVE[@]})) || break
		"wl_$wl"
	done
	each finish_run
done
ROUND=1
finish_stats
ELAPSED=$((SECONDS - START))

# binary sizes: what is on disk for the one process, or the scanner + per-service supervisor
for k in "${RUN_KINDS[@]}"; do
	case ${KFAM[$k]} in
	going|goingc) [[ -n ${KBIN[$k]} && -e ${KBIN[$k]} ]] && R[$k:bin]=$(stat -c %s "${KBIN[$k]}") ;;
	floor) R[$k:bin]=$(stat -c %s "$FLOOR") ;;
	runit) R[$k:bin]=$(($(stat -L -c %s "$(command -v runsvdir)") + $(stat -L -c %s "$(command -v runsv)"))) ;;
	s6) R[$k:bin]=$(($(stat -L -c %s "$(command -v s6-svscan)") + $(stat -L -c %s "$(command -v s6-supervise)"))) ;;
	daemontools) R[$k:bin]=$(($(stat -L -c %s "$(command -v svscan)") + $(stat -L -c %s "$(command -v supervise)"))) ;;
	busybox) R[$k:bin]=$(stat -L -c %s "$(command -v busybox)") ;;
	esac
done

# ---------------------------------------------------------------- report registry
# row METRIC UNIT "LABEL" TARGET: TARGET is cN (going ÷ C going ≤ N), aN
# (going's value ≤ N in the row's unit) or empty.
ROWS=()
declare -A RLABEL=() RUNIT=() RTARGET=()
row() { ROWS+=("$1"); RUNIT[$1]=$2; RLABEL[$1]=$3; RTARGET[$1]=${4:-}; }
row resp us "respawn after SIGKILL, median (ms)" c0.8
row pick us "new service picked up, median (ms)" c0.5
row cold us "cold start of $NCOLD (ms)" c0.8
row rss64 kB "VmRSS with $NSESSION services (kB)" c1.0
row pss64 kB "PSS with $NSESSION services (kB)" c1.0
row peak256 kB "VmPeak with $NCOLD services: table full (kB)" a256
row bin B "binary on disk (B)" c1.0
row idle n "wake-ups in ${IDLE_S} s idle, $NSESSION services" ""
row shut us "shutdown of $NCOLD: services gone (ms)" ""
row shutsup us "shutdown of $NCOLD: supervisor gone (ms)" ""

get() { echo "${R[$1]:-}"; }
fmt() { # unit value
	case $1 in
	us) ms "$2" ;;
	B) commas "$2" ;;
	kB) awk -v v="$2" 'BEGIN{printf "%.0f", v}' ;;
	*) echo "$2" ;;
	esac
}
num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
ratio() { # a b -> a ÷ b
	awk -v a="$1" -v b="$2" 'BEGIN{ if (b + 0 == 0) { print (a + 0 == 0 ? "= (both 0)" : "—"); exit }
		r = a / b; if (r < 0.01) printf "%.4f", r; else if (r < 10) printf "%.2f", r; else printf "%.0f", r }'
}
best_peer() { # metric -> "value kind" of the lowest peer
	local k v best="" bk=""
	for k in "${RUN_KINDS[@]}"; do
		is_peer "$k" || continue
		[[ -z ${SKIP[$k]:-} ]] || continue
		v=$(get "$k:$1"); num "$v" || continue
		if [[ -z $best ]] || awk -v a="$v" -v b="$best" 'BEGIN{exit !(a < b)}'; then best=$v bk=$k; fi
	done
	[[ -n $best ]] && echo "$best $bk"
}
cell() { # kind metric
	local k=$1 m=$2 v
	[[ -n ${SKIP[$k]:-} ]] && { echo "not measured"; return; }
	v=$(get "$k:$m")
	if num "$v"; then fmt "${RUNIT[$m]:-n}" "$v"; else echo "—"; fi
}
samples_of() { # metric -> "going 120, ..." compact per kind
	local k out=() n
	for k in "${RUN_KINDS[@]}"; do
		[[ -z ${SKIP[$k]:-} ]] || continue
		n=$(get "$k:$1:n"); [[ -n $n ]] && out+=("$n")
	done
	printf '%s\n' "${out[@]}" | sort -n | uniq | tr '\n' '/' | sed 's|/$||'
}

GOINGS=() COLS=()    # the going rows measured; every kind measured (report columns)
for k in "${RUN_KINDS[@]}"; do
	[[ -z ${SKIP[$k]:-} ]] || continue
	COLS+=("$k")
	is_going "$k" && GOINGS+=("$k")
done

# The head of a table with a column per kind of COLS: "| figure | …"
# and its rule, each line ending in EXTRA (a last column's head, rule).
table_head() { # [EXTRA_HEAD EXTRA_RULE]
	local k head="| figure |" rule="|---|"
	for k in "${COLS[@]}"; do head+=" ${KLABEL[$k]} |"; rule+="---:|"; done
	echo "$head${1:-}"
	echo "$rule${2:-}"
}

report() {
	local k m v c g t b bk line lines=()
	echo "# going beside the original C going, runit, s6 and daemontools"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, Linux $(uname -r), by \`bench/run.sh$( ((QUICK)) && echo ' --quick')\`$( ((ROUNDS > 1)) && echo " in $ROUNDS rounds")$([[ -n $CPUS ]] && echo " on CPUs $CPUS"), ${ELAPSED} s."
	echo
	echo "Versions: ${GOING_VERSION:-going not built}$(for k in "${GOINGS[@]}"; do [[ $k == going ]] || printf '; %s' "${KLABEL[$k]}"; done); ${KLABEL[going-c]} (static, musl-gcc -Os, built from its source at bench time); runit $(pkg_version runit), s6 $(pkg_version s6), daemontools $(pkg_version daemontools) (Debian's, dynamically linked)."
	echo
	echo "Work directory (service files, sockets, status files) on $TMPBASE ($TMPFS). The $NSESSION-service sessions of all kinds run at once (idle but for the service being measured); respawn and pickup samples go round-robin over the kinds, and so do the cold starts, one supervisor at a time, so that load from outside the bench falls on every kind alike."
	echo
	echo "Every supervisor starts the same service, \`bench/svc.c\` built static with musl: its first act is to read CLOCK_MONOTONIC and write it into a FIFO the bench holds, then it waits. The stamps are read after the fact (respawn, pickup) or by a SCHED_IDLE reader (cold start), so nothing polls while services start. The floor is \`bench/floor.c\`: vfork (or fork), setsid, execve and waitpid, nothing else — the least any supervisor can do here; a second thread of it blocks on inotify and starts one more copy for each new name in its directory (its pickup). Its cgroup rows make a cgroup per copy and clone3 into it, the parent waiting for each exec (\"fork into cgroups\", every cgroup made first) or going on to the next while the child execs (\"overlapped\", each cgroup made just before its first clone)."
	((BUSY_WAITS)) && echo && echo "Other load: the machine was still busy after ${QUIET_MAX_S} s at $BUSY_WAITS of $QUIET_WAITS waits for quiet between measurements; figures are noisier than on a quiet machine."
	for k in "${RUN_KINDS[@]}"; do
		[[ -n ${SKIP[$k]:-} ]] && echo "- ${KLABEL[$k]} not measured: ${SKIP[$k]}."
	done
	[[ -n ${NOTE[svc]:-} ]] && echo "- ${NOTE[svc]}."
	echo

	echo "## Summary"
	echo
	table_head " samples |" "---:|"
	for m in "${ROWS[@]}"; do
		line="| ${RLABEL[$m]} |"
		for k in "${COLS[@]}"; do line+=" $(cell "$k" "$m") |"; done
		v=$(samples_of "$m")
		echo "$line ${v:-1} |"
	done
	echo
	echo "Multi-process peers: memory is the sum over the scanner and its per-service supervisors; their binaries are dynamically linked (scanner + per-service supervisor on disk, libc not counted). C going has no inotify: its pickup is timed from the file's rename with a SIGHUP sent right after it; going needs no signal. s6 is told with \`s6-svscanctl -a\`; runit and daemontools find a new service within their 5 s scan, at a random phase here. s6-supervise waits 1 s before each restart by design."
	echo

	echo "## Ratios"
	echo
	echo "Below 1 means going is better. \"Best other peer\" is the lowest of runit, s6, daemontools and busybox runsv in this run (the floor and C going excluded)."
	echo
	line="| figure |"
	for g in "${GOINGS[@]}"; do line+=" ${KLABEL[$g]} ÷ C going | ${KLABEL[$g]} ÷ best other peer |"; done
	echo "$line target (going ÷ C going) | met |"
	line="|---|"; for g in "${GOINGS[@]}"; do line+="---:|---:|"; done
	echo "$line---|---|"
	for m in "${ROWS[@]}"; do
		line="| ${RLABEL[$m]} |"
		b=$(best_peer "$m"); bk=${b#* }; b=${b%% *}
		for g in "${GOINGS[@]}"; do
			v=$(get "$g:$m"); c=$(get "going-c:$m")
			if num "$v" && num "$c"; then line+=" $(ratio "$v" "$c") |"; else line+=" — |"; fi
			if [[ $m == bin ]]; then line+=" — (peers dynamic) |"
			elif num "$v" && num "$b"; then line+=" $(ratio "$v" "$b") (${KLABEL[$bk]}) |"; else line+=" — |"; fi
		done
		t=${RTARGET[$m]}; v=$(get "going:$m"); c=$(get "going-c:$m")
		case $t in
		c*) if num "$v" && num "$c"; then
				awk -v a="$v" -v b="$c" -v t="${t#c}" 'BEGIN{exit !(b > 0 && a / b <= t + 1e-9)}' && g=yes || g="**no**"
			else g="—"; fi
			line+=" ≤ ${t#c} | $g |" ;;
		a*) if num "$v"; then awk -v a="$v" -v t="${t#a}" 'BEGIN{exit !(a <= t)}' && g=yes || g="**no**"; else g="—"; fi
			line+=" going ≤ $(fmt "${RUNIT[$m]}" "${t#a}") ${RUNIT[$m]} | $g |" ;;
		*) line+=" | |" ;;
		esac
		echo "$line"
	done
	echo

	echo "Where a target is missed, \`bench/analysis.md\` says why, measured; \`bench/profile.sh\` takes those measurements again (memory maps, stack frames, text by module, system calls, CPU and instructions per respawn, ftrace phases)."
	echo
	if ((ROUNDS > 1)); then
		echo "## Run-to-run spread"
		echo
		echo "(highest − lowest of the $ROUNDS rounds' medians) ÷ the median over all rounds, in %; each round ran every kind in turn."
		echo
		table_head
		for m in resp pick cold rss64 pss64 peak256 shut shutsup; do
			[[ $m == peak256 ]] && continue   # measured in round 1 only
			line="| ${RLABEL[$m]} |"
			for k in "${COLS[@]}"; do
				v=$(get "$k:$m:spread")
				[[ -n $v ]] && v="$v %"
				line+=" ${v:-—} |"
			done
			echo "$line"
		done
		echo
		echo "Each round's going ÷ C going (the verdict on a target holds when every round agrees):"
		echo
		line="| figure |"; for ((r = 1; r <= ROUNDS; r++)); do line+=" round $r |"; done
		echo "$line"
		line="|---|"; for ((r = 1; r <= ROUNDS; r++)); do line+="---:|"; done
		echo "$line"
		for m in resp pick cold rss64 pss64 shut shutsup; do
			line="| ${RLABEL[$m]} |"
			for ((r = 1; r <= ROUNDS; r++)); do
				v=$(get "going:$m:r$r"); c=$(get "going-c:$m:r$r")
				if num "$v" && num "$c"; then line+=" $(ratio "$v" "$c") |"; else line+=" — |"; fi
			done
			echo "$line"
		done
		echo
	fi

	echo "## Details"
	echo
	table_head
	for m in resp:p25 pick:p25 ratio25 resp_dead retried peak64 peak64_1 rss64_1 procs64 rss256 peak256_1 cold_first status crashspawns crashcpu; do
		[[ $m == crash* ]] && ((CRASH_S == 0)) && continue
		case $m in
		resp:p25) v="respawn, lower quartile (ms)" ;;
		ratio25) v="… lower quartiles: respawn, pickup ÷ C going's" ;;
		pick:p25) v="pickup, lower quartile (ms)" ;;
		resp_dead) v="respawn: the killed service dead after (median µs)" ;;
		retried) v="respawn samples taken again (the killed service took > ${DEAD_MAX_US} µs to die)" ;;
		peak64) v="VmPeak with $NSESSION services (kB)" ;;
		peak64_1) v="… the scanner alone (kB)" ;;
		rss64_1) v="VmRSS with $NSESSION, the scanner alone (kB)" ;;
		procs64) v="supervisor processes with $NSESSION" ;;
		rss256) v="VmRSS with $NCOLD (kB)" ;;
		peak256_1) v="VmPeak with $NCOLD, the scanner alone (kB)" ;;
		cold_first) v="cold start: first service running (ms)" ;;
		status) v="status of $NSESSION services (ms)" ;;
		crashspawns) v="crash loop: starts in ${CRASH_S} s" ;;
		crashcpu) v="crash loop: supervisor CPU in ${CRASH_S} s (ms, schedstat)" ;;
		esac
		line="| $v |"
		for k in "${COLS[@]}"; do
			c=$(get "$k:$m")
			case $m in
			cold_first|status|*:p25) c=$(ms "$c") ;;
			ratio25)
				c=""
				if is_going "$k" && num "$(get "going-c:resp:p25")"; then
					c="$(ratio "$(get "$k:resp:p25")" "$(get going-c:resp:p25)"), $(ratio "$(get "$k:pick:p25")" "$(get going-c:pick:p25)")"
				fi ;;
			resp_dead) c=$(fmt kB "$c") ;;
			retried) c=$(get "$k:resp_retried"); [[ -n $(get "$k:resp") ]] && c=${c:-0} ;;
			crashcpu) num "$c" && c=$(awk -v c="$c" 'BEGIN{printf "%.1f", c / 1e6}') ;;
			esac
			[[ -n ${SKIP[$k]:-} ]] && c="not measured"
			line+=" ${c:-—} |"
		done
		echo "$line"
	done
	echo
	echo "Status commands: $(for k in "${COLS[@]}"; do v=$(get "$k:statuscmd"); [[ -n $v ]] && printf '%s: "%s"; ' "${KLABEL[$k]}" "$v"; done)stopped by: $(for k in "${COLS[@]}"; do printf '%s: %s; ' "${KLABEL[$k]}" "${STOPPED_BY[${KFAM[$k]}]}"; done | sed 's/; $//')."
	((CRASH_S > 0)) || echo "The crash loop (one service that exits at once) is not run with --quick."
	echo "going backs off exponentially (1, 2, 4 … 60 s) after quick exits, C going quarantines a service for 30 s, runsv, s6-supervise and supervise retry about once a second."
	echo

	echo "## How each figure is taken"
	echo
	echo "- Respawn: with $NSESSION services, each up > 5 s (no backoff anywhere), SIGKILL one; the time from the kill to its replacement's stamp. $RESP per round ($RESP_S6 for s6), each a different service, kinds taking turns sample by sample. A sample whose killed service took over ${DEAD_MAX_US} µs to die (seen through a pidfd: the machine was busy) is taken again on the next service, at most twice."
	echo "- Pickup: a new service file (or service directory) is renamed into the scanned directory; the time to its stamp. $PICKS per round ($PICKS_POLL for the polling peers)."
	echo "- Cold start: from the supervisor's exec to the last of $NCOLD stamps; $COLD_REPS per round. VmPeak with the table full is read after the first of them, VmRSS/PSS ($NSESSION services) ${SETTLE_S} s after they all run (PSS from smaps_rollup)."
	echo "- Shutdown: the supervisor's documented stop, then pidfds tell when the last service and the last supervisor process exited."
	echo "- Idle: voluntary + involuntary context switches of the supervisor processes over ${IDLE_S} s."
	echo "- Samples: over all rounds, per kind (\"10/120\": s6 10, the others 120)."
	echo "- Raw figures: \`bench/results.tsv\` (kind, metric, median, samples, spread %); \`bench/compare.sh OLD.tsv NEW.tsv\` sets two runs side by side."
	echo
	echo "Adding a row: a workload records samples with \`sample KIND METRIC VALUE\`, a \`row\` line in the report registry gives the label, unit and target, and \`rr\`/\`each\` run a per-kind step round-robin or once per kind; a going variant (cgroup on/off, confinement keys) is one \`add_kind\` line with extra service-file lines. The \"ADDING A ROW\" comment in \`bench/run.sh\` has the details."

	for v in "${!R[@]}"; do
		case $v in
		*:fail|*:respfail|*:pickfail|*:coldfail|*:shutfail|*:shutlinger) lines+=("- ${v%%:*}: ${R[$v]}") ;;
		*:shutleft) lines+=("- ${v%%:*}: after a shutdown of $NCOLD, the bench killed ${R[$v]} leftover process(es)") ;;
		*:coldcap) lines+=("- ${v%%:*}: accepts only ${R[$v]} of $NCOLD services") ;;
		esac
	done
	if ((${#lines[@]})); then
		echo
		echo "## Anomalies"
		echo
		printf '%s\n' "${lines[@]}" | sort
	fi
}

tsv() {
	local k
	echo "# kind	metric	median	samples	spread%	($(date -u '+%Y-%m-%d %H:%M UTC'), bench/run.sh$( ((QUICK)) && echo ' --quick'), $ROUNDS rounds)"
	for v in "${!R[@]}"; do
		[[ $v == *:*:* ]] && continue
		k=${v%%:*}
		num "${R[$v]}" || continue
		printf '%s\t%s\t%s\t%s\t%s\n' "$k" "${v#*:}" "${R[$v]}" "${R[$v:n]:-1}" "${R[$v:spread]:-}"
	done | sort
}

report >"$W/results.md"
tsv >"$W/results.tsv"
cp "$W/results.md" "$HERE/results.md"
cp "$W/results.tsv" "$HERE/results.tsv"
cat "$W/results.md"
say "done in ${ELAPSED} s; written to $HERE/results.md and results.tsv"
# The bench broke if going was asked for and could not be measured at all.
if wanted going && [[ -n ${SKIP[going]:-} ]]; then exit 1; fi
exit 0
}

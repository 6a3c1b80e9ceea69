#!/usr/bin/env bash
# bench/run.sh — going beside runit, s6, daemontools and busybox runsv.
#
#   bench/run.sh [--quick] [--keep] [--only "going runit s6 daemontools busybox"]
#
#   --quick  a few seconds per workload (CI); full mode makes the README table
#   --keep   keep the temp dir (logs of every supervisor run) for inspection
#   --only   measure only the named supervisors
#
# Measures, one supervisor at a time on private directories under a temp dir:
# memory, idle wake-ups, respawn latency, new-service pickup, cold start and
# shutdown of 256 services, a crash loop, and status queries. Prints Markdown
# tables and writes them to bench/results.md. It reports what it measured and
# asserts nothing; it exits non-zero only when the bench itself broke.
# The whole script is one brace group: bash parses all of it before it runs,
# so editing this file during a run cannot derail that run.
{
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

QUICK=0 KEEP=0 ONLY="going runit s6 daemontools busybox"
while (($#)); do
	case $1 in
	--quick) QUICK=1 ;;
	--keep) KEEP=1 ;;
	--only) ONLY=${2:?--only needs a list}; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "bench: unknown argument: $1" >&2; exit 64 ;;
	esac
	shift
done

if ((QUICK)); then
	IDLE_S=3 RESP1=1 RESP64=5 PICKS=2 PICKS_POLL=1 CRASH_S=20 COLD_REPS=1 STATUS_REPS=5
else
	IDLE_S=10 RESP1=10 RESP64=10 PICKS=5 PICKS_POLL=5 CRASH_S=60 COLD_REPS=3 STATUS_REPS=20
fi
MINUP_MS=5200   # a service must be up > 5 s before it is killed

START=$SECONDS
say() { printf '[bench %3ds] %s\n' $((SECONDS - START)) "$*" >&2; }

# One bench at a time on this machine: two would measure each other.
LOCK=${TMPDIR:-/tmp}/going-bench.lock
exec 9>>"$LOCK"
if ! flock -n 9; then
	say "another bench run holds $LOCK; waiting for it (at most 20 min)"
	flock -w 1200 9 || { echo "bench: another bench run is still going after 20 min" >&2; exit 2; }
	START=$SECONDS
fi

W=$(mktemp -d /tmp/going-bench.XXXXXX) || { echo "bench: mktemp failed" >&2; exit 2; }
TOOL=$W/benchtool
# Every service runs "sleep $SLEEP_S": a duration unique to this bench run, so
# that its leftovers can be told from anyone else's sleep.
SLEEP_S=$((4000000 + $$))
TAGS=()          # one BENCH_TAG per supervisor launch; cleanup kills by tag
CUR_PID=         # the supervisor launched last

cleanup() {
	local t
	trap - EXIT INT TERM
	if [[ -x $TOOL ]]; then
		for t in "${TAGS[@]}"; do "$TOOL" killtag "$t" "$SLEEP_S" >/dev/null; done
	fi
	wait 2>/dev/null
	if ((KEEP)); then echo "bench: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

# ---------------------------------------------------------------- helpers

gcc -O2 -static -o "$TOOL" "$HERE/benchtool.c" 2>"$W/gcc.log" ||
	gcc -O2 -o "$TOOL" "$HERE/benchtool.c" 2>>"$W/gcc.log" ||
	{ cat "$W/gcc.log" >&2; echo "bench: cannot build benchtool" >&2; exit 2; }
ln -s "$TOOL" "$W/run"          # peers exec ./run -> benchtool in service mode
CLK_TCK=$(getconf CLK_TCK)

declare -A R=()                 # results, keyed "kind:what"
declare -A SKIP=()              # kind -> reason it was not measured
NOTES=()

# Wait until the machine is quiet (< 10 % CPU busy over 300 ms), at most 4 s.
QUIET_WAITS=0 BUSY_WAITS=0
quiesce() {
	local end=$((SECONDS + 4)) a b t1 i1 t2 i2
	QUIET_WAITS=$((QUIET_WAITS + 1))
	while ((SECONDS < end)); do
		read -ra a </proc/stat; sleep 0.3; read -ra b </proc/stat
		t1=$((a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7] + a[8])); i1=$((a[4] + a[5]))
		t2=$((b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8])); i2=$((b[4] + b[5]))
		(((t2 - t1) > 0 && 100 * ((t2 - t1) - (i2 - i1)) / (t2 - t1) < 10)) && return 0
	done
	BUSY_WAITS=$((BUSY_WAITS + 1))
	return 0
}

# median and max of the numbers on stdin ("- -" when there are none)
medmax() { sort -n | awk '{v[NR]=$1} END{if(!NR){print "- -"; exit} print v[int((NR+1)/2)], v[NR]}'; }

# "median max" in us -> "median (max)" in ms when there were several runs
spread() {
	local m x
	read -r m x <<<"$1"
	if ((COLD_REPS > 1)) && [[ $x =~ ^[0-9]+$ ]]; then echo "$(ms "$m") ($(ms "$x"))"; else ms "${m:--}"; fi
}

# microseconds -> milliseconds text
ms() {
	awk -v u="$1" 'BEGIN{ if (u !~ /^[0-9.]+$/) { print u; exit }
		m = u / 1000; if (m < 10) printf "%.2f", m; else if (m < 100) printf "%.1f", m; else printf "%.0f", m }'
}

# going's value divided by the best (lowest) peer value, e.g. "0.12×"
ratio() { # going value, peer values...
	local g=$1; shift
	awk -v g="$g" -v list="$*" 'BEGIN{ n = split(list, p, " "); best = ""
		for (i = 1; i <= n; i++) if (p[i] ~ /^[0-9.]+$/ && (best == "" || p[i] + 0 < best + 0)) best = p[i]
		if (g !~ /^[0-9.]+$/ || best == "") { print "—"; exit }
		if (best + 0 == 0) { print (g + 0 == 0 ? "= (both 0)" : "— (best peer 0)"); exit }
		r = g / best; if (r < 0.01) printf "%.4f×", r; else if (r < 10) printf "%.2f×", r; else printf "%.0f×", r }'
}

is_pid_alive() { # alive and not a zombie
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $st && $st != Z ]]
}

# ---------------------------------------------------------------- the going binary

GOING=
GOING_VERSION=
build_going() {
	local bin=$ROOT/going
	say "building going (make build)"
	# The binary `make build` makes and `make install` installs: the release
	# build without its unwind tables, which would add 16 KiB to VmPeak.
	if ! timeout 900 make -C "$ROOT" build >"$W/cargo.log" 2>&1; then
		tail -n 15 "$W/cargo.log" >&2
		SKIP[going]="make build failed (see its output above)"
		return 1
	fi
	if [[ ! -x $bin ]]; then
		SKIP[going]="no binary at $bin after make build"
		return 1
	fi
	cp "$bin" "$W/going"
	GOING=$W/going
	GOING_VERSION=$(timeout 5 "$GOING" -V 2>/dev/null | head -n1)
	local rev
	if rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null); then
		[[ -n $(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]] && rev+=", with uncommitted changes"
		GOING_VERSION+=" (commit $rev)"
	else
		GOING_VERSION+=" (uncommitted tree)"
	fi
	return 0
}

# ---------------------------------------------------------------- the peers

BBBIN=$W/bbbin
install_peers() {
	local want=() pkg bin
	declare -A need=([runit]=runsvdir [s6]=s6-svscan [daemontools]=svscan)
	for pkg in runit s6 daemontools; do
		[[ " $ONLY " == *" $pkg "* ]] || continue
		command -v "${need[$pkg]}" >/dev/null || want+=("$pkg")
	done
	if [[ " $ONLY " == *" busybox "* ]] && ! busybox --list 2>/dev/null | grep -qx runsvdir; then
		dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || want+=(busybox-static)
	fi
	if ((${#want[@]})); then
		if ! command -v apt-get >/dev/null; then
			say "apt-get not available; cannot install ${want[*]}"
		elif (($(id -u) != 0)); then
			say "not root; cannot install ${want[*]}"
		else
			say "installing ${want[*]} from Debian"
			export DEBIAN_FRONTEND=noninteractive
			for pkg in "${want[@]}"; do
				timeout 300 apt-get install -y -q --no-install-recommends "$pkg" >>"$W/apt.log" 2>&1 ||
					{ timeout 300 apt-get update -q >>"$W/apt.log" 2>&1 &&
					  timeout 300 apt-get install -y -q --no-install-recommends "$pkg" >>"$W/apt.log" 2>&1; } ||
					say "apt-get install $pkg failed (see $W/apt.log)"
			done
		fi
	fi
	command -v runsvdir >/dev/null && command -v runsv >/dev/null && command -v sv >/dev/null ||
		SKIP[runit]="runit is not installed and could not be installed"
	command -v s6-svscan >/dev/null && command -v s6-svscanctl >/dev/null && command -v s6-svstat >/dev/null ||
		SKIP[s6]="s6 is not installed and could not be installed"
	command -v svscan >/dev/null && command -v supervise >/dev/null && command -v svc >/dev/null ||
		SKIP[daemontools]="daemontools is not installed and could not be installed"
	if ! command -v busybox >/dev/null; then
		SKIP[busybox]="busybox is not installed and could not be installed"
	else
		for bin in runsvdir runsv sv; do
			if ! busybox --list | grep -qx "$bin"; then
				SKIP[busybox]="this busybox ($(busybox 2>&1 | head -n1 | awk '{print $2}'), $(readlink -f "$(command -v busybox)")) has no $bin applet (Debian builds busybox without the runit applets)"
				break
			fi
		done
		if [[ -z ${SKIP[busybox]:-} ]]; then
			mkdir -p "$BBBIN"
			for bin in runsvdir runsv sv; do ln -sf "$(command -v busybox)" "$BBBIN/$bin"; done
		fi
	fi
}

pkg_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }

# ---------------------------------------------------------------- one supervisor run
# A run lives in $RUN: svc/ (the scanned directory), stamps/ (one stamp file
# per service), stage/ (services about to be added), t0, log.

KIND= RUN= TAG=
new_run() { # kind label
	KIND=$1
	RUN=$W/$1-$2
	TAG=$(basename "$W")-$1-$2
	rm -rf "$RUN"
	mkdir -p "$RUN/svc" "$RUN/stamps" "$RUN/stage"
	CUR_PID=
}

# add_service DIR NAME sleep|exit: a service in DIR (svc/ or stage/)
add_service() {
	local dir=$1 name=$2 mode=$3
	if [[ $KIND == going ]]; then
		[[ $mode == sleep ]] && mode=$SLEEP_S
		printf 'cmd=%s stamp %s %s\n' "$TOOL" "$RUN/stamps/$name" "$mode" >"$dir/$name"
	else
		mkdir -p "$dir/$name"
		ln -s "$W/run" "$dir/$name/run"
		[[ $mode == exit ]] && : >"$dir/$name/crash"
	fi
	return 0
}

populate() { # count mode
	local i
	for ((i = 0; i < $1; i++)); do add_service "$RUN/svc" "$(printf 's%03d' "$i")" "$2"; done
}

# Launch the supervisor of $KIND on $RUN/svc; CLOCK_MONOTONIC at launch goes to $RUN/t0.
launch() {
	TAGS+=("$TAG")
	local envs=(BENCH_TAG="$TAG" BENCH_STAMPDIR="$RUN/stamps" BENCH_SLEEP="$SLEEP_S")
	case $KIND in
	going) env "${envs[@]}" "$TOOL" t0 "$RUN/t0" "$GOING" -d "$RUN/svc" -s "$RUN/sock" >>"$RUN/log" 2>&1 </dev/null 9>&- & ;;
	runit) env "${envs[@]}" "$TOOL" t0 "$RUN/t0" runsvdir "$RUN/svc" >>"$RUN/log" 2>&1 </dev/null 9>&- & ;;
	busybox) env "${envs[@]}" PATH="$BBBIN:$PATH" "$TOOL" t0 "$RUN/t0" "$BBBIN/runsvdir" "$RUN/svc" >>"$RUN/log" 2>&1 </dev/null 9>&- & ;;
	s6) env "${envs[@]}" "$TOOL" t0 "$RUN/t0" s6-svscan "$RUN/svc" >>"$RUN/log" 2>&1 </dev/null 9>&- & ;;
	daemontools) (cd "$RUN/svc" && exec env "${envs[@]}" "$TOOL" t0 "$RUN/t0" svscan) >>"$RUN/log" 2>&1 </dev/null 9>&- & ;;
	esac
	CUR_PID=$!
	disown "$CUR_PID"   # no job report when it is killed; reaped by bash all the same
}

# Stop everything of the current run by force (after the measurements).
finish_run() {
	[[ -n $TAG ]] && "$TOOL" killtag "$TAG" "$SLEEP_S" >/dev/null
	local end=$((SECONDS + 5))
	while [[ -n $CUR_PID ]] && is_pid_alive "$CUR_PID" && ((SECONDS < end)); do sleep 0.05; done
	CUR_PID=
	quiesce
}

# The supervisor's own processes: going alone, or the scanner and its
# per-service supervisors.
sup_pids() {
	local c
	echo "$CUR_PID"
	[[ $KIND == going ]] && return 0
	for c in $(pgrep -P "$CUR_PID"); do
		case $(cat "/proc/$c/comm" 2>/dev/null) in
		runsv|s6-supervise|supervise) echo "$c" ;;
		esac
	done
	return 0
}

status_sum() { # field pids... -> sum of the field over /proc/PID/status
	local f=$1; shift
	(($#)) || { echo 0; return; }
	(cd /proc && awk -v f="$f:" '$1 == f { s += $2 } END { print s + 0 }' $(printf '%s/status ' "$@") 2>/dev/null)
}

ctx_sum() {
	(($#)) || { echo 0; return; }
	(cd /proc && awk '$1 ~ /^(non)?voluntary_ctxt_switches:$/ { s += $2 } END { print s + 0 }' $(printf '%s/status ' "$@") 2>/dev/null)
}

cpu_ticks() { # utime + stime of the pids
	(($#)) || { echo 0; return; }
	(cd /proc && awk '{ s += $14 + $15 } END { print s + 0 }' $(printf '%s/stat ' "$@") 2>/dev/null)
}

# ---------------------------------------------------------------- workloads

# Sessions with 1 and 64 services: memory, idle, respawn, status, pickup.
session() { # n
	local n=$1 up pids nsup c1 c2 i s r k
	new_run "$KIND" "n$n"
	populate "$n" sleep
	launch
	up=$("$TOOL" waitall "$RUN/stamps" "$n" 15000 "$RUN/t0")
	if [[ $up == timeout* ]]; then
		local why="the supervisor is running"
		is_pid_alive "$CUR_PID" || why="the supervisor had exited"
		[[ -s $RUN/log ]] && why+="; its last output: $(tail -n 2 "$RUN/log" | tr '\n|' '  ' | cut -c1-200)"
		R[$KIND:fail:$n]="the $n service(s) were not all running 15 s after launch (${up#timeout } were; $why)"
		say "$KIND: ${R[$KIND:fail:$n]}"
		finish_run
		return 1
	fi
	# daemontools' supervise sleeps 1 s after each start: let every one settle
	sleep 2
	# 1. memory
	mapfile -t pids < <(sup_pids)
	nsup=${#pids[@]}
	R[$KIND:procs:$n]=$nsup
	R[$KIND:peak1:$n]=$(status_sum VmPeak "${pids[0]}")
	R[$KIND:rss1:$n]=$(status_sum VmRSS "${pids[0]}")
	R[$KIND:peak:$n]=$(status_sum VmPeak "${pids[@]}")
	R[$KIND:rss:$n]=$(status_sum VmRSS "${pids[@]}")
	# 2. idle
	say "$KIND: $n services: idle ${IDLE_S}s"
	c1=$(ctx_sum "${pids[@]}")
	sleep "$IDLE_S"
	c2=$(ctx_sum "${pids[@]}")
	R[$KIND:idle:$n]=$((c2 - c1))
	# 8. status and 4. pickup, with 64 services while they age to 5 s
	if ((n > 1)); then
		status_bench
		pickup_bench "$n"
	fi
	# 3. respawn (the service must be up > 5 s first)
	k=$RESP1; ((n > 1)) && k=$RESP64
	say "$KIND: $n services: respawn x$k"
	: >"$RUN/respawn"
	for ((i = 0; i < k; i++)); do
		s=$(printf 's%03d' $((n > 1 ? i % n : 0)))
		r=$("$TOOL" respawn "$RUN/stamps/$s" "$MINUP_MS" 10000)
		if [[ $r =~ ^[0-9]+$ ]]; then echo "$r" >>"$RUN/respawn"
		else R[$KIND:respfail:$n]="respawn with $n service(s), $s: $r (timeout: no replacement within 10 s)"; fi
		sleep 0.1
	done
	R[$KIND:resp:$n]="$(medmax <"$RUN/respawn") $(wc -l <"$RUN/respawn")"
	# 4. pickup, with 1 service
	((n == 1)) && pickup_bench "$n"
	finish_run
	return 0
}

status_bench() {
	local dirs=("$RUN"/svc/s*) r
	case $KIND in
	going)
		timeout 5 "$GOING" status -s "$RUN/sock" >"$RUN/status.out" 2>&1
		r=$?
		if ((r == 0)); then
			r=$("$TOOL" timeit "$STATUS_REPS" -- "$GOING" status -s "$RUN/sock")
			R[going:statuscmd]="going status"
		else
			R[going:statuscmd]="going status (exit $r: $(head -c 80 "$RUN/status.out" | tr '\n|' '  '))"
			r="unsupported"
		fi ;;
	runit) r=$("$TOOL" timeit "$STATUS_REPS" -- sv status "${dirs[@]}"); R[runit:statuscmd]="sv status DIR×64" ;;
	busybox) r=$("$TOOL" timeit "$STATUS_REPS" -- "$BBBIN/sv" status "${dirs[@]}"); R[busybox:statuscmd]="busybox sv status DIR×64" ;;
	s6) r=$("$TOOL" timeit "$STATUS_REPS" -each -- s6-svstat "${dirs[@]}"); R[s6:statuscmd]="s6-svstat DIR, 64 runs" ;;
	daemontools) r=$("$TOOL" timeit "$STATUS_REPS" -- svstat "${dirs[@]}"); R[daemontools:statuscmd]="svstat DIR×64" ;;
	esac
	R[$KIND:status]=$r
}

pickup_bench() { # n
	local n=$1 i name r timeout_ms=1000 hup=0 delay cmd=() picks=$PICKS
	case $KIND in
	going) hup=$CUR_PID ;;
	s6) cmd=(s6-svscanctl -a "$RUN/svc"); timeout_ms=3000 ;;
	*) timeout_ms=8000; picks=$PICKS_POLL ;;   # runsvdir and svscan look every 5 s
	esac
	: >"$RUN/pickup"
	say "$KIND: $n services: pickup x$picks"
	for ((i = 0; i < picks; i++)); do
		name=new$i
		add_service "$RUN/stage" "$name" sleep
		# for polling peers, add at a random phase of their 5 s cycle
		case $KIND in runit|busybox|daemontools) delay=$((RANDOM % 5000)) ;; *) delay=200 ;; esac
		sleep "$(awk -v d="$delay" 'BEGIN{printf "%.3f", d/1000}')"
		r=$("$TOOL" pickup "$RUN/stamps/$name" "$timeout_ms" "$hup" "$RUN/stage/$name" "$RUN/svc/$name" "${cmd[@]}")
		case $r in
		timeout*) R[$KIND:pickfail:$n]="pickup with $n service(s): $name not running ${timeout_ms} ms after it was added$([[ $KIND == going ]] && echo ', nor after a SIGHUP')" ;;
		*" 1") R[$KIND:pickhup]=1; echo "${r% *}" >>"$RUN/pickup" ;;
		*) echo "${r% *}" >>"$RUN/pickup" ;;
		esac
	done
	R[$KIND:pick:$n]="$(medmax <"$RUN/pickup") $(wc -l <"$RUN/pickup")"
}

# 5 + 6. cold start and shutdown of 256 services
cold_bench() {
	local rep up sd want=256 cap f sp
	: >"$W/$KIND.cold"; : >"$W/$KIND.shut"; : >"$W/$KIND.shutsup"
	for ((rep = 0; rep < COLD_REPS; rep++)); do
		new_run "$KIND" "c256-$rep"
		populate 256 sleep
		if [[ $KIND == going ]]; then
			# going has fixed-size tables: ask it how many of the 256 it accepts
			timeout 10 "$GOING" check -d "$RUN/svc" >"$RUN/check.out" 2>&1
			cap=$(grep -Eo '[0-9]+ valid services' "$RUN/check.out" | tail -n1 | awk '{print $1}')
			if [[ $cap =~ ^[0-9]+$ ]] && ((cap < 256)); then
				want=$cap
				R[going:coldcap]=$cap
				R[going:capwhy]=$(grep -v 'valid services' "$RUN/check.out" | head -n1 | sed 's|^.*/s[0-9]*: ||')
			fi
		fi
		quiesce
		say "$KIND: cold start of 256 (#$((rep + 1)))"
		launch
		up=$("$TOOL" waitall "$RUN/stamps" "$want" 60000 "$RUN/t0")
		if [[ $up == timeout* ]]; then
			R[$KIND:coldfail]="only ${up#timeout } of $want running after 60 s"
			finish_run
			return 1
		fi
		echo "$up" >>"$W/$KIND.cold"
		sleep 1; quiesce
		# the service pids (the last stamp of every file) and the supervisor's
		for f in "$RUN"/stamps/*; do tail -n1 "$f" | awk '{print $2}'; done >"$RUN/pids"
		sup_pids >"$RUN/suppids"
		if ((rep == 0)); then
			mapfile -t sp <"$RUN/suppids"
			R[$KIND:peak1:256]=$(status_sum VmPeak "${sp[0]}")
			R[$KIND:peak:256]=$(status_sum VmPeak "${sp[@]}")
		fi
		say "$KIND: shutdown of $want (#$((rep + 1)))"
		case $KIND in
		going) sd=$("$TOOL" shutdown "$RUN/pids" 30000 -s "$RUN/suppids" -k 15 "$CUR_PID") ;;
		runit|busybox) sd=$("$TOOL" shutdown "$RUN/pids" 30000 -s "$RUN/suppids" -k 1 "$CUR_PID") ;;
		s6) sd=$("$TOOL" shutdown "$RUN/pids" 30000 -s "$RUN/suppids" -- s6-svscanctl -t "$RUN/svc") ;;
		daemontools) sd=$("$TOOL" shutdown "$RUN/pids" 30000 -s "$RUN/suppids" -k 15 "$CUR_PID" -- svc -dx "$RUN"/svc/s*) ;;
		esac
		case $sd in
		timeout:*) R[$KIND:shutfail]="${sd%% *} of $want services still running 30 s after the stop request" ;;
		*) echo "${sd%% *}" >>"$W/$KIND.shut" ;;
		esac
		case ${sd#* } in
		timeout:*) R[$KIND:shutlinger]="${sd#* } supervisor processes still running 30 s after the stop request" ;;
		*) echo "${sd#* }" >>"$W/$KIND.shutsup" ;;
		esac
		f=$("$TOOL" killtag "$TAG" "$SLEEP_S")
		((f > 0)) && R[$KIND:shutleft]=$f
		finish_run
	done
	R[$KIND:cold]=$(medmax <"$W/$KIND.cold")
	R[$KIND:shut]=$(medmax <"$W/$KIND.shut")
	R[$KIND:shutsup]=$(medmax <"$W/$KIND.shutsup")
}

# 7. crash loop: one service that exits at once
crash_bench() {
	local t0 pids lines
	new_run "$KIND" crash
	populate 1 exit
	say "$KIND: crash loop for ${CRASH_S}s"
	launch
	sleep "$CRASH_S"
	mapfile -t pids < <(sup_pids)
	R[$KIND:crashcpu]=$(( $(cpu_ticks "${pids[@]}") * 1000 / CLK_TCK ))
	R[$KIND:crashsched]=$("$TOOL" sched "${pids[@]}")
	t0=$(cat "$RUN/t0")
	lines=$(awk -v end=$((t0 + CRASH_S * 1000000000)) '$1 < end' "$RUN/stamps/s000" 2>/dev/null | wc -l)
	R[$KIND:crashspawns]=$lines
	finish_run
}

bench_kind() {
	KIND=$1
	say "== $KIND"
	quiesce
	if ! session 1; then
		SKIP[$KIND]=${R[$KIND:fail:1]}
		return
	fi
	session 64
	cold_bench
	crash_bench
}

# ---------------------------------------------------------------- main

install_peers
if [[ " $ONLY " == *" going "* ]]; then
	build_going
fi
quiesce
FLOOR=$("$TOOL" floor "$W/floor")
# The reference loop: a minimal C supervisor (waitpid, fork, exec) in
# benchtool, starting the same helper, for a floor under the respawn and
# cold-start rows.
say "reference loop: respawn x$RESP64, cold start of 256 x$COLD_REPS"
"$TOOL" loop-respawn "$W/loop-respawn.stamps" "$SLEEP_S" "$RESP64" >"$W/loop-respawn"
LOOP_RESP="$(medmax <"$W/loop-respawn") $(wc -l <"$W/loop-respawn")"
: >"$W/loop-cold"
for ((rep = 0; rep < COLD_REPS; rep++)); do
	rm -rf "$W/loop-cold.d"; mkdir -p "$W/loop-cold.d"
	quiesce
	"$TOOL" loop-cold "$W/loop-cold.d" "$SLEEP_S" 256 | grep -E '^[0-9]+$' >>"$W/loop-cold"
done
LOOP_COLD=$(medmax <"$W/loop-cold")

KINDS=()
for k in going runit s6 daemontools busybox; do
	[[ " $ONLY " == *" $k "* ]] || continue
	KINDS+=("$k")
	if [[ -n ${SKIP[$k]:-} ]]; then say "$k: skipped: ${SKIP[$k]}"; continue; fi
	bench_kind "$k"
done
ELAPSED=$((SECONDS - START))

# ---------------------------------------------------------------- report

declare -A LABEL=([going]=going [runit]="runit (runsvdir + runsv)" [s6]="s6 (s6-svscan + s6-supervise)"
	[daemontools]="daemontools (svscan + supervise)" [busybox]="busybox runsv (runsvdir + runsv)")

get() { echo "${R[$1]:-}"; }
word() { awk -v i="$2" '{print $i}' <<<"$1"; }
peers_of() { # key-maker: prints the value of every measured peer
	local k
	for k in "${KINDS[@]}"; do [[ $k == going || -n ${SKIP[$k]:-} ]] && continue; "$@" "$k"; done
}
cell() { # value, or the reason the supervisor was not measured
	local k=$1 v=$2
	if [[ -n ${SKIP[$k]:-} ]]; then echo "not measured"; elif [[ $v =~ ^[-[:space:]/+]*$ ]]; then echo "—"; else echo "$v"; fi
}

report() {
	local k v g n a b
	echo "# going beside runit, s6, daemontools and busybox runsv"
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, Linux $(uname -r), by \`bench/run.sh$( ((QUICK)) && echo ' --quick')\` in ${ELAPSED} s, one supervisor at a time."
	echo "Versions: ${GOING_VERSION:-going not built}, runit $(pkg_version runit), s6 $(pkg_version s6), daemontools $(pkg_version daemontools), busybox-static $(pkg_version busybox-static)."
	echo "Every service is \`sleep\`, started through a static helper that records CLOCK_MONOTONIC before it execs; the fork+exec of that helper alone takes $(ms "$FLOOR") ms here, a floor under every start time below. The minimal C loop rows are a supervisor reduced to waitpid, fork and exec (benchtool's reference loop, killing and restarting its own child), for the least this machine allows."
	echo "Ratios are going ÷ the best peer in the same run (below 1 means going is better)."
	((BUSY_WAITS)) && echo "Other load: the machine was still busy after 4 s at $BUSY_WAITS of $QUIET_WAITS waits for quiet between measurements; figures may be noisier than usual."
	for k in "${KINDS[@]}"; do
		[[ -n ${SKIP[$k]:-} ]] && echo "- ${LABEL[$k]} not measured: ${SKIP[$k]}."
	done
	echo

	echo "## 1. Memory (kB)"
	echo
	echo "Per-service designs: the scanner alone / the sum over the scanner and all its per-service supervisors."
	echo
	echo "| supervisor | VmPeak, 1 service | VmRSS, 1 service | VmPeak, 64 services | VmRSS, 64 services | processes with 64 | VmPeak, 256 services |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for k in "${KINDS[@]}"; do
		if [[ $k == going ]]; then
			a=""; [[ -n $(get going:coldcap) ]] && a=" ($(get going:coldcap) running)"
			echo "| going | $(cell $k "$(get going:peak:1)") | $(cell $k "$(get going:rss:1)") | $(cell $k "$(get going:peak:64)") | $(cell $k "$(get going:rss:64)") | $(cell $k "$(get going:procs:64)") | $(cell $k "$(get going:peak:256)$a") |"
		else
			echo "| ${LABEL[$k]} | $(cell $k "$(get $k:peak1:1) / $(get $k:peak:1)") | $(cell $k "$(get $k:rss1:1) / $(get $k:rss:1)") | $(cell $k "$(get $k:peak1:64) / $(get $k:peak:64)") | $(cell $k "$(get $k:rss1:64) / $(get $k:rss:64)") | $(cell $k "$(get $k:procs:64)") | $(cell $k "$(get $k:peak1:256) / $(get $k:peak:256)") |"
		fi
	done
	f_peak() { get "$1:peak:64"; }; f_rss() { get "$1:rss:64"; }; f_peak1() { get "$1:peak1:64"; }
	echo "| **going ÷ best peer (sum)** | | | $(ratio "$(get going:peak:64)" $(peers_of f_peak)) | $(ratio "$(get going:rss:64)" $(peers_of f_rss)) | | |"
	echo "| going ÷ best peer (scanner alone) | | | $(ratio "$(get going:peak:64)" $(peers_of f_peak1)) | | | |"
	echo

	echo "## 2. Idle: context switches of all supervisor processes over ${IDLE_S} s"
	echo
	echo "| supervisor | 1 service | 64 services |"
	echo "|---|---:|---:|"
	for k in "${KINDS[@]}"; do echo "| ${LABEL[$k]} | $(cell $k "$(get $k:idle:1)") | $(cell $k "$(get $k:idle:64)") |"; done
	f_i1() { get "$1:idle:1"; }; f_i64() { get "$1:idle:64"; }
	echo "| **going ÷ best peer** | $(ratio "$(get going:idle:1)" $(peers_of f_i1)) | $(ratio "$(get going:idle:64)" $(peers_of f_i64)) |"
	echo
	echo "runsvdir and svscan look at their directory every 5 s, so they wake up even when nothing happens."
	echo

	echo "## 3. Respawn latency (ms): a service up > 5 s is SIGKILLed; time until its replacement starts"
	echo
	echo "| supervisor | median, 1 service | max, 1 service | median, 64 services | max, 64 services | samples |"
	echo "|---|---:|---:|---:|---:|---:|"
	for k in "${KINDS[@]}"; do
		a=$(get $k:resp:1); b=$(get $k:resp:64)
		echo "| ${LABEL[$k]} | $(cell $k "$(ms "$(word "$a" 1)")") | $(cell $k "$(ms "$(word "$a" 2)")") | $(cell $k "$(ms "$(word "$b" 1)")") | $(cell $k "$(ms "$(word "$b" 2)")") | $(cell $k "$(word "$a" 3) + $(word "$b" 3)") |"
	done
	echo "| minimal C loop (reference: waitpid, fork, exec) | $(ms "$(word "$LOOP_RESP" 1)") | $(ms "$(word "$LOOP_RESP" 2)") | | | $(word "$LOOP_RESP" 3) |"
	f_r1() { word "$(get "$1:resp:1")" 1; }; f_r64() { word "$(get "$1:resp:64")" 1; }
	echo "| **going ÷ best peer (median)** | $(ratio "$(word "$(get going:resp:1)" 1)" $(peers_of f_r1)) | | $(ratio "$(word "$(get going:resp:64)" 1)" $(peers_of f_r64)) | | |"
	echo
	echo "s6-supervise enforces a 1 s delay before it starts a dead service again (here even after 5 s of uptime), so s6 shows about 1000 ms by design."
	echo

	echo "## 4. New-service pickup (ms): from adding the service to its process running"
	echo
	echo "| supervisor | how it learns | median, 1 service | max, 1 service | median, 64 services | max, 64 services |"
	echo "|---|---|---:|---:|---:|---:|"
	for k in "${KINDS[@]}"; do
		case $k in
		going) if [[ -n $(get going:pickhup) ]]; then v="file, then SIGHUP (no pickup within 1 s without it; timed from the SIGHUP)"; else v="file (inotify)"; fi ;;
		s6) v="service dir + \`s6-svscanctl -a\`" ;;
		*) v="service dir; the peer polls every 5 s" ;;
		esac
		a=$(get $k:pick:1); b=$(get $k:pick:64)
		echo "| ${LABEL[$k]} | $v | $(cell $k "$(ms "$(word "$a" 1)")") | $(cell $k "$(ms "$(word "$a" 2)")") | $(cell $k "$(ms "$(word "$b" 1)")") | $(cell $k "$(ms "$(word "$b" 2)")") |"
	done
	f_p1() { word "$(get "$1:pick:1")" 1; }; f_p64() { word "$(get "$1:pick:64")" 1; }
	echo "| **going ÷ best peer (median)** | | $(ratio "$(word "$(get going:pick:1)" 1)" $(peers_of f_p1)) | | $(ratio "$(word "$(get going:pick:64)" 1)" $(peers_of f_p64)) | |"
	echo
	if ((PICKS == PICKS_POLL)); then
		echo "$PICKS additions per row; for the polling peers each is made at a random point of their 5 s cycle."
	else
		echo "$PICKS additions per row ($PICKS_POLL for the polling peers, made at a random point of their 5 s cycle)."
	fi
	echo

	echo "## 5 + 6. Cold start and shutdown of 256 services (ms)"
	echo
	echo "| supervisor | cold start: launch → all 256 running | shutdown: stop request → no service left | … → no supervisor process left | stopped by |"
	echo "|---|---:|---:|---:|---|"
	for k in "${KINDS[@]}"; do
		case $k in
		going) v="SIGTERM to going" ;;
		runit|busybox) v="SIGHUP to runsvdir (it TERMs every runsv)" ;;
		s6) v="\`s6-svscanctl -t\`" ;;
		daemontools) v="SIGTERM to svscan + \`svc -dx\` on all 256" ;;
		esac
		a=""; [[ $k == going && -n $(get going:coldcap) ]] && a=" (only $(get going:coldcap) accepted: $(get going:capwhy))"
		echo "| ${LABEL[$k]} | $(cell $k "$(spread "$(get $k:cold)")$a") | $(cell $k "$(spread "$(get $k:shut)")$a") | $(cell $k "$(spread "$(get $k:shutsup)")") | $v |"
	done
	echo "| minimal C loop (reference: fork, exec, nothing else) | $(spread "$LOOP_COLD") | | | |"
	f_c() { word "$(get "$1:cold")" 1; }; f_s() { word "$(get "$1:shut")" 1; }; f_ss() { word "$(get "$1:shutsup")" 1; }
	if [[ -n $(get going:coldcap) ]]; then
		echo "| **going ÷ best peer** | — (not the same count) | — (not the same count) | | |"
	else
		echo "| **going ÷ best peer** | $(ratio "$(word "$(get going:cold)" 1)" $(peers_of f_c)) | $(ratio "$(word "$(get going:shut)" 1)" $(peers_of f_s)) | $(ratio "$(word "$(get going:shutsup)" 1)" $(peers_of f_ss)) | |"
	fi
	echo
	if ((COLD_REPS > 1)); then
		echo "Median of $COLD_REPS runs, the slowest in brackets. A service counts as running from the moment the helper it execs records its start."
	else
		echo "One run each. A service counts as running from the moment the helper it execs records its start."
	fi
	echo

	echo "## 7. Crash loop: one service that exits at once, for ${CRASH_S} s"
	echo
	echo "| supervisor | spawns per minute | supervisor CPU, utime+stime (ms) | supervisor CPU, schedstat (ms) | CPU per spawn (µs) |"
	echo "|---|---:|---:|---:|---:|"
	for k in "${KINDS[@]}"; do
		n=$(get $k:crashspawns); a=$(get $k:crashsched)
		v=$(awk -v n="$n" -v s="$CRASH_S" 'BEGIN{ if (n == "") print ""; else printf "%.0f", n * 60 / s }')
		b=$(awk -v n="$n" -v c="$a" 'BEGIN{ if (n == "" || n + 0 == 0) print ""; else printf "%.0f", c / n / 1000 }')
		echo "| ${LABEL[$k]} | $(cell $k "$v") | $(cell $k "$(get $k:crashcpu)") | $(cell $k "$(awk -v c="$a" 'BEGIN{ if (c != "") printf "%.2f", c / 1e6 }')") | $(cell $k "$b") |"
	done
	f_cs() { get "$1:crashsched"; }
	echo "| **going ÷ best peer (CPU, schedstat)** | | | $(ratio "$(get going:crashsched)" $(peers_of f_cs)) | |"
	echo
	echo "going backs off exponentially (1, 2, 4 … 60 s) after quick exits; runsv, s6-supervise and supervise retry about once a second forever. utime+stime counts 1/${CLK_TCK} s ticks; schedstat counts nanoseconds."
	echo

	echo "## 8. Status of 64 services (ms per query, median of $STATUS_REPS)"
	echo
	echo "| supervisor | command | median | max |"
	echo "|---|---|---:|---:|"
	for k in "${KINDS[@]}"; do
		a=$(get $k:status)
		if [[ $a == unsupported ]]; then
			echo "| ${LABEL[$k]} | $(get $k:statuscmd) | not supported by this build | |"
		else
			echo "| ${LABEL[$k]} | $(cell $k "$(get $k:statuscmd)") | $(cell $k "$(ms "$(word "$a" 1)")") | $(cell $k "$(ms "$(word "$a" 2)")") |"
		fi
	done
	f_st() { local v; v=$(word "$(get "$1:status")" 1); [[ $v =~ ^[0-9]+$ ]] && echo "$v"; }
	echo "| **going ÷ best peer** | | $(ratio "$(f_st going)" $(peers_of f_st)) | |"
	echo
	echo "s6-svstat reads one service directory per run, so it is run 64 times; sv and svstat take all 64 at once."
	echo

	# anything that went wrong while measuring
	local lines=()
	for v in "${!R[@]}"; do
		case $v in
		*:fail:*|*:respfail:*|*:pickfail:*|*:coldfail|*:shutfail|*:shutlinger) lines+=("- ${v%%:*}: ${R[$v]}") ;;
		*:shutleft) lines+=("- ${v%%:*}: after shutdown of 256, the bench killed ${R[$v]} leftover process(es) of that run") ;;
		esac
	done
	if ((${#lines[@]})); then
		echo "## Anomalies"
		echo
		printf '%s\n' "${lines[@]}" | sort
		echo
	fi
}

report >"$W/results.md"
cp "$W/results.md" "$HERE/results.md"
cat "$W/results.md"
say "done in ${ELAPSED} s; written to $HERE/results.md"
# The bench broke if going was asked for and could not be measured at all.
if [[ " $ONLY " == *" going "* && -n ${SKIP[going]:-} ]]; then exit 1; fi
exit 0
}

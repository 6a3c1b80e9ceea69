#!/usr/bin/env bash
# bench/soak.sh [SECONDS] — going under load for SECONDS (default 600; CI
# runs 60), then checks that it lost nothing.
#
# 200 services: long runners, crash-loopers (/bin/false), runs that end
# (restart=never, restart=on-failure), services the script kills at random,
# and services writing to log files. Every second files are added, changed
# and removed and `going reload` is asked for; `going status` runs in a loop
# all along. Afterwards it prints spawns, reloads, status calls, zombies,
# descriptors and VmRSS at the start and the end, checks every service is in
# the state its file says (changed ones run their new command, removed ones
# are gone), sends SIGTERM and checks nothing is left. Exits 1 on any
# violation, 64 on a bad argument.
#
# GOING=path/to/going overrides the binary (default ./going, else the
# release build). Needs bash, coreutils and /proc; not root.
# The whole script is one brace group, parsed before it runs.
{
set -u -o pipefail

SECS=${1:-600}
case $SECS in '' | *[!0-9]*) echo "usage: bench/soak.sh [SECONDS]" >&2; exit 64 ;; esac
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GOING=${GOING:-}
if [[ -z $GOING ]]; then
	GOING=$ROOT/going
	[[ -x $GOING ]] || GOING=$ROOT/target/x86_64-unknown-linux-musl/release/going
fi
if [[ ! -x $GOING ]]; then
	echo "soak: no going binary at $GOING (run make first)" >&2
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/going-soak.XXXXXX")
DIR=$TMP/going.d SOCK=$TMP/sock LOG=$TMP/going.log BIN=$TMP/bin
mkdir -p "$DIR" "$BIN" "$TMP/logs"
# Programs named under $TMP: every process of this soak shows $TMP in its
# command line, which is how leftovers are found at the end.
ln -s /bin/sleep "$BIN/long"
ln -s /bin/sleep "$BIN/victim"
ln -s /bin/sleep "$BIN/short"
ln -s /bin/sleep "$BIN/churn"
ln -s /bin/false "$BIN/crash"
ln -s /bin/sh "$BIN/talk"

violations=()
violate() { violations+=("$*"); echo "soak: VIOLATION: $*" >&2; }

declare -A kind gen
write() { # NAME TEXT — atomically, through a dot file going ignores
	printf '%s' "$2" >"$DIR/.$1.tmp" && mv -f "$DIR/.$1.tmp" "$DIR/$1"
}
add() { # NAME KIND TEXT
	kind[$1]=$2
	write "$1" "$3"
}
for i in $(seq -w 1 90); do add "long$i" long "cmd=$BIN/long 100000"$'\n'; done
for i in $(seq -w 1 30); do add "victim$i" victim "cmd=$BIN/victim 100000"$'\n'; done
for i in $(seq -w 1 30); do add "crash$i" crash "cmd=$BIN/crash"$'\n'; done
for i in $(seq -w 1 20); do add "never$i" never "cmd=$BIN/short 0.5"$'\n'"restart=never"$'\n'; done
for i in $(seq -w 1 20); do add "onfail$i" onfail "cmd=$BIN/short 0.5"$'\n'"restart=on-failure"$'\n'; done
for i in $(seq -w 1 10); do
	add "talk$i" talk "cmd=$BIN/talk -c 'while :; do echo talk$i; sleep 0.2; done'"$'\n'"log=$TMP/logs/talk$i.log"$'\n'"log_size=4k"$'\n'"log_keep=2"$'\n'
done

# --- helpers ---------------------------------------------------------------
status_m() { "$GOING" status -s "$SOCK" -m 2>/dev/null; }
field() { # LINE KEY
	local f
	for f in $1; do [[ $f == "$2="* ]] && { echo "${f#*=}"; return; }; done
}
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss_of() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# Zombies below going (its children and their descendants).
zombies() {
	local pids=("$1") i=0 n=0 p c
	local kids st
	while ((i < ${#pids[@]})); do
		p=${pids[i]}
		i=$((i + 1))
		kids=()
		{ read -r -a kids <"/proc/$p/task/$p/children"; } 2>/dev/null
		for c in "${kids[@]}"; do
			pids+=("$c")
			st=
			{ read -r st <"/proc/$c/stat"; } 2>/dev/null
			st=${st##*) }
			[[ ${st%% *} == Z ]] && n=$((n + 1))
		done
	done
	echo "$n"
}
# The fewest descriptors seen over 2 s: spawns open pipes for a moment.
settled_fds() {
	local best=100000 n
	for _ in $(seq 20); do
		n=$(fds_of "$GPID")
		((n < best)) && best=$n
		sleep 0.1
	done
	echo "$best"
}
ours() { # processes whose command line names $TMP, but not this script's
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[[ $p == "$$" || $p == "$BASHPID" ]] && continue
		{ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$TMP/" && echo "$p"
	done
}

# --- start -----------------------------------------------------------------
"$GOING" -d "$DIR" -s "$SOCK" >"$LOG" 2>&1 </dev/null &
GPID=$!
cleanup() {
	kill -KILL "$GPID" 2>/dev/null
	for p in $(ours); do kill -KILL "$p" 2>/dev/null; done
}
trap 'cleanup; exit 130' INT TERM
for _ in $(seq 100); do [[ -S $SOCK ]] && break; sleep 0.1; done
# Settled: every initial long runner and talker is up.
for _ in $(seq 100); do
	(($(status_m | grep -c ' state=up ') >= 130)) && break
	sleep 0.1
done
sleep 2
FD0=$(settled_fds) RSS0=$(rss_of "$GPID")
echo "soak: going $GPID, ${#kind[@]} services, $SECS s, in $TMP"
echo "soak: start: $FD0 descriptors, VmRSS $RSS0 kB"

# --- load ------------------------------------------------------------------
status_loop() {
	local ok=0 bad=0
	while [[ ! -e $TMP/stop ]]; do
		if "$GOING" status -s "$SOCK" >/dev/null 2>&1; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
	done
	echo "$ok $bad" >"$TMP/status.count"
}
status_loop &
SPID=$!

kills=0 added=0 changed=0 removed=0 reloads=0 reload_fail=0 churn_n=0 max_zombies=0
churn_names() { local n; for n in "${!kind[@]}"; do [[ ${kind[$n]} == churn ]] && echo "$n"; done; }
end=$((SECONDS + SECS))
tick=${EPOCHREALTIME/./}
while ((SECONDS < end)); do
	# Add one service, change one, remove one (keeping 10 to 20 of them).
	churn_n=$((churn_n + 1))
	n=churn$churn_n
	gen[$n]=1
	add "$n" churn "cmd=$BIN/churn 10000$churn_n"$'\n'
	added=$((added + 1))
	mapfile -t cs < <(churn_names)
	if ((${#cs[@]} > 1)); then
		c=${cs[RANDOM % ${#cs[@]}]}
		gen[$c]=$((gen[$c] + 1))
		write "$c" "cmd=$BIN/churn 2000${gen[$c]}"$'\n'
		changed=$((changed + 1))
	fi
	if ((${#cs[@]} > 20)); then
		c=${cs[RANDOM % ${#cs[@]}]}
		rm -f "$DIR/$c"
		unset "kind[$c]" "gen[$c]"
		removed=$((removed + 1))
	fi
	if "$GOING" reload -s "$SOCK" >/dev/null 2>&1; then reloads=$((reloads + 1)); else reload_fail=$((reload_fail + 1)); fi
	# Kill three victims that have been up 6 s (so each is a long run).
	while read -r line; do
		pid=$(field "$line" pid)
		[[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) && kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
	done < <(status_m | awk '/^name=victim/ && / state=up / {split($4, u, "="); if (u[2] >= 6) print}' | shuf -n 3)
	z=$(zombies "$GPID")
	((z > max_zombies)) && max_zombies=$z
	if ! kill -0 "$GPID" 2>/dev/null; then
		violate "going died during the soak"
		break
	fi
	# One round a second: sleep what is left of it.
	tick=$((tick + 1000000))
	left=$((tick - ${EPOCHREALTIME/./}))
	((left > 0)) && sleep "$((left / 1000000)).$(printf %06d $((left % 1000000)))"
done
touch "$TMP/stop"
wait "$SPID"
read -r status_ok status_bad <"$TMP/status.count"

# --- every service in the state its file says ---------------------------------
check_states() {
	local out line f name state pid last want argv words problems=()
	local -A row_state row_pid row_last
	out=$(status_m)
	while read -r line; do
		[[ $line == name=* ]] || continue
		name='' state='' pid='' last=''
		for f in $line; do
			case $f in
			name=*) name=${f#name=} ;;
			state=*) state=${f#state=} ;;
			pid=*) pid=${f#pid=} ;;
			last=*) last=${f#last=} ;;
			esac
		done
		row_state[$name]=$state row_pid[$name]=$pid row_last[$name]=$last
	done <<<"$out"
	((${#row_state[@]} == ${#kind[@]})) || problems+=("${#row_state[@]} status rows for ${#kind[@]} files")
	for name in "${!kind[@]}"; do
		if [[ -z ${row_state[$name]+x} ]]; then
			problems+=("$name: not in status")
			continue
		fi
		state=${row_state[$name]} pid=${row_pid[$name]} last=${row_last[$name]}
		case ${kind[$name]} in
		long | victim | churn | talk)
			[[ $state == up ]] || { problems+=("$name: $state, not up"); continue; }
			words=()
			{ mapfile -d '' -t words <"/proc/$pid/cmdline"; } 2>/dev/null
			argv="${words[*]} "
			case ${kind[$name]} in
			churn) want="$BIN/churn $( ((gen[$name] == 1)) && echo "10000${name#churn}" || echo "2000${gen[$name]}") " ;;
			talk) want="$BIN/talk -c " ;;
			*) want="$BIN/${kind[$name]} 100000 " ;;
			esac
			[[ $argv == "$want"* ]] || problems+=("$name: pid $pid runs '$argv', not '$want'")
			;;
		crash) [[ $state == backoff || $state == up ]] && [[ $last == exit:1 || $state == up ]] ||
			problems+=("$name: $state last=$last, not backoff after exit:1") ;;
		never | onfail) [[ $state == "done" && $last == exit:0 ]] ||
			problems+=("$name: $state last=$last, not done after exit:0") ;;
		esac
	done
	# Removed files are gone from status.
	for name in "${!row_state[@]}"; do
		[[ -n ${kind[$name]+x} ]] || problems+=("$name: in status but its file was removed")
	done
	printf '%s\n' "${problems[@]}"
}
found=
for _ in $(seq 20); do
	found=$(check_states)
	[[ -z $found ]] && break
	sleep 1
done
while read -r p; do [[ -n $p ]] && violate "state: $p"; done <<<"$found"
# No process runs a removed or an old version of a churn file.
declare -A current
for n in $(churn_names); do
	((gen[$n] == 1)) && current["$BIN/churn 10000${n#churn} "]=1 || current["$BIN/churn 2000${gen[$n]} "]=1
done
for p in $(ours); do
	argv=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
	[[ $argv == "$BIN/churn "* && -z ${current[$argv]+x} ]] && violate "pid $p still runs '$argv'"
done

z=1
for _ in $(seq 20); do
	z=$(zombies "$GPID")
	((z == 0)) && break
	sleep 0.1
done
((z == 0)) || violate "$z zombies below going"
FD1=$(settled_fds) RSS1=$(rss_of "$GPID")
PEAK=$(awk '/^VmPeak:/ {print $2}' "/proc/$GPID/status")
((FD1 == FD0)) || violate "descriptors: $FD0 at the start, $FD1 at the end"
((RSS1 <= RSS0 + 128)) || violate "VmRSS grew from $RSS0 kB to $RSS1 kB"
((status_bad == 0)) || violate "$status_bad status calls failed"
((reload_fail == 0)) || violate "$reload_fail reload requests failed"

# --- SIGTERM: going exits 0 and nothing is left ------------------------------
kill -TERM "$GPID"
rc=
for _ in $(seq 300); do
	if ! kill -0 "$GPID" 2>/dev/null; then
		wait "$GPID"
		rc=$?
		break
	fi
	sleep 0.1
done
[[ $rc == 0 ]] || violate "going did not exit 0 within 30 s of SIGTERM (${rc:-still running})"
left=
for _ in $(seq 30); do
	left=$(ours | tr '\n' ' ')
	[[ -z $left ]] && break
	sleep 0.1
done
[[ -z $left ]] || violate "processes left after SIGTERM: $left"

spawns=$(grep -c ': started, pid ' "$LOG")
reload_lines=$(grep -c 'going: reloading ' "$LOG")
echo "soak: $SECS s, ${#kind[@]} services at the end (files added $added, changed $changed, removed $removed)"
echo "soak: spawns $spawns, reloads $reloads ($reload_lines logged), status calls $status_ok ok / $status_bad failed, kills $kills"
echo "soak: zombies at the end $z (most seen in a sample: $max_zombies)"
echo "soak: descriptors $FD0 -> $FD1, VmRSS $RSS0 -> $RSS1 kB (VmPeak $PEAK kB), log $(wc -l <"$LOG") lines"
if ((${#violations[@]})); then
	echo "soak: FAILED, ${#violations[@]} violations; files kept in $TMP"
	cleanup
	exit 1
fi
echo "soak: ok"
rm -rf "$TMP"
exit 0
}

#!/usr/bin/env bash
# bench/profile.sh — where going's memory, bytes and time go, beside the
# original C going and the floor (bench/floor.c), on the same static service
# program as bench/run.sh. Prints Markdown; asserts nothing.
#
#   bench/profile.sh [--only "memory frames size syscalls cpu instructions order phases"]
#
#   memory        /proc/PID/smaps of going and C going with 64 services, and
#                 going's stack RSS with 0, 1, 64 and 256 services
#   frames        the largest stack frames in going (objdump of a build with
#                 symbols: CARGO_PROFILE_RELEASE_STRIP=false, in the temp dir)
#   size          going's text by module, C going's own code against musl's
#   syscalls      strace -c: system calls per respawn and per cold start
#   cpu           supervisor CPU (schedstat) and page faults per respawn
#   instructions  callgrind: user-space instructions per respawn, and for a
#                 cold start of 64 (valgrind)
#   order         a cold start of 256 from a directory listed newest first
#                 (as tmpfs lists files made in name order) and from one
#                 listed in name order, 7 starts of each, alternating
#   phases        ftrace (tracefs, root): a respawn and a cold start of 256
#                 cut into phases — the dying service's exit, the supervisor
#                 waking, its work before clone/fork, the child until execve,
#                 execve, the service until its stamp (python3)
#
# Environment: GOING_BIN=path measures that going (default: make build);
# GOING_C_SRC as for bench/run.sh. Needs strace, valgrind, python3 and root
# for the parts that use them; a part whose tool is missing says so.
# Takes the bench lock, so it never runs beside bench/run.sh.
# shellcheck disable=SC2317 # cleanup runs from a trap
{
set -u -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ONLY="memory frames size syscalls cpu instructions order phases"
while (($#)); do
	case $1 in
	--only) ONLY=${2:?--only needs a list}; shift ;;
	-h|--help) sed -n '2,26p' "$0"; exit 0 ;;
	*) echo "profile: unknown argument: $1" >&2; exit 64 ;;
	esac
	shift
done
want() { [[ " $ONLY " == *" $1 "* ]]; }
say() { echo "[profile] $*" >&2; }

LOCK=${TMPDIR:-/tmp}/going-bench.lock
exec 9>>"$LOCK"
flock -w 1800 9 || { echo "profile: the bench lock is still held after 30 min" >&2; exit 2; }

TMPBASE=/tmp
[[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs && -w /dev/shm ]] && TMPBASE=/dev/shm
W=$(mktemp -d "$TMPBASE/going-profile.XXXXXX") || exit 2
B=$W/bin FIFO=$W/stamps TOOL=$W/bin/benchtool
T=/sys/kernel/tracing
FIFO_FD=""
SUP=""
cleanup() {
	trap - EXIT INT TERM
	[[ -n $SUP ]] && kill -KILL "$SUP" 2>/dev/null
	if [[ -d $T/events && -w $T/tracing_on ]] && [[ -n ${TRACING:-} ]]; then trace_off; fi
	[[ -x $TOOL ]] && "$TOOL" killtag "$(basename "$W")*" "$B/" >/dev/null
	[[ -n $FIFO_FD ]] && exec {FIFO_FD}<&-
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'echo "profile: interrupted" >&2; exit 130' INT TERM
mkdir -p "$B"

# ---------------------------------------------------------------- programs
command -v musl-gcc >/dev/null || { echo "profile: needs musl-gcc (apt-get install musl-tools)" >&2; exit 2; }
gcc -O2 -o "$TOOL" "$HERE/benchtool.c" &&
	musl-gcc -static -Os -s -DSTAMP_FIFO="\"$FIFO\"" -o "$B/svc-sleep" "$HERE/svc.c" &&
	musl-gcc -static -Os -s -o "$B/floor" "$HERE/floor.c" || exit 2
mkfifo "$FIFO" && exec {FIFO_FD}<>"$FIFO"
"$TOOL" fifo "$FIFO" 1048576 >/dev/null

GC_SRC=${GOING_C_SRC:-}
for d in "$ROOT/../shared/peers/going-c" /work/shared/peers/going-c; do
	[[ -z $GC_SRC && -f $d/src/going.c ]] && GC_SRC=$d
done
GOINGC=""
if [[ -n $GC_SRC ]]; then
	mkdir -p "$W/gc" && cp -R "$GC_SRC/src" "$W/gc/"
	musl-gcc -std=gnu99 -Os -static -include limits.h -o "$B/going-c.sym" "$W/gc/src/going.c" 2>/dev/null &&
		strip -o "$B/going-c" "$B/going-c.sym" && GOINGC=$B/going-c
fi
[[ -n $GOINGC ]] || say "the original C going was not found or did not build: its columns are left out"

if [[ -n ${GOING_BIN:-} ]]; then
	cp "$GOING_BIN" "$B/going"
else
	say "make build"
	make -C "$ROOT" build >"$W/make.log" 2>&1 || { tail "$W/make.log" >&2; exit 2; }
	cp "$ROOT/going" "$B/going"
fi
GOING=$B/going
# the same code with its symbols, for frames, size and callgrind
GSYM=""
if want frames || want size || want instructions; then
	say "a build with symbols (cargo, in $W)"
	if (cd "$ROOT" && CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=$W/target \
		cargo build --release -q) >"$W/cargo.log" 2>&1; then
		GSYM=$W/target/x86_64-unknown-linux-musl/release/going
	else
		say "the build with symbols failed: frames, size and instructions are left out"
	fi
fi

# ---------------------------------------------------------------- helpers
svcdir() { # n [reverse]: a fresh directory of n going-format services,
	# s000 ... made in name order (tmpfs lists them newest first) or,
	# with "reverse", in reverse name order (tmpfs lists them in name order)
	rm -rf "$W/d"; mkdir -p "$W/d"
	local i name
	for ((i = 0; i < $1; i++)); do
		if [[ ${2:-} == reverse ]]; then printf -v name 's%03d' $(($1 - 1 - i)); else printf -v name 's%03d' "$i"; fi
		printf 'cmd=%s\n' "$B/svc-sleep" >"$W/d/$name"
	done
}
median() { # divisor format: the median of stdin's numbers, divided
	sort -n | awk -v d="$1" -v f="$2" '{v[NR]=$1} END{if (NR) printf f, v[int((NR+1)/2)] / d}'
}
# start KIND (going | going-c | floor) on $W/d with N services under
# an optional wrapper; sets SUP and leaves the stamps in $W/recs
start() { # kind n [wrapper...]
	local k=$1 n=$2 res cfd cmd=()
	shift 2
	case $k in
	going) cmd=("$GOING" -d "$W/d" -s "$W/sock") ;;
	going-c) cmd=("$GOINGC" -d "$W/d") ;;
	floor) cmd=("$B/floor" "$n" "$B/svc-sleep") ;;
	esac
	exec {cfd}< <(exec "$TOOL" collect "$FIFO" "$n" 120000 "$W/t0" "$W/recs" {FIFO_FD}>&-)
	read -r -t 5 _ <&"$cfd"
	"$@" "$TOOL" t0 "$W/t0" "${cmd[@]}" >/dev/null 2>&1 {FIFO_FD}>&- {cfd}<&- &
	SUP=$!
	read -r -t 130 res <&"$cfd"
	exec {cfd}<&-
	STARTED=$res
	[[ $res =~ ^[0-9]+\ [0-9]+$ ]] || { say "$k: the $n services did not all start ($res)"; return 1; }
	# under a wrapper (strace, valgrind) the supervisor is its child
	if (($#)); then SUP=$(pgrep -P "$SUP" | head -n1); fi
	return 0
}
stop() {
	[[ -n $SUP ]] && kill -TERM "$SUP" 2>/dev/null
	sleep 0.3
	"$TOOL" killtag "none" "$B/svc-" >/dev/null
	wait 2>/dev/null
	SUP=""
}
# kill the first K services in turn, each replaced before the next
respawns() { # k
	local r ns pid n=0
	while read -r ns pid && ((n < $1)); do
		r=$("$TOOL" respawn "$FIFO" "$pid" "$ns" 5200 5000)
		[[ $r =~ ^[0-9]+ ]] && n=$((n + 1))
	done <"$W/recs"
}
KINDS=(going)
[[ -n $GOINGC ]] && KINDS+=(going-c)
KINDS+=(floor)

echo "# Where going's memory, bytes and time go"
echo
echo "\`bench/profile.sh\` on $(nproc) cores, Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'); going: $("$GOING" -V 2>/dev/null) ($(stat -c %s "$GOING") B); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)."
echo

# ---------------------------------------------------------------- memory
if want memory; then
	say "memory"
	echo "## Memory: /proc/PID/smaps with 64 services (kB)"
	echo
	for k in going going-c; do
		[[ $k == going-c && -z $GOINGC ]] && continue
		svcdir 64; start "$k" 64 || continue
		sleep 1
		echo "$k: $(grep -E '^(VmPeak|VmRSS|VmStk|VmExe|VmData):' "/proc/$SUP/status" | tr -s ' \t\n' ' ')"
		echo
		echo "| mapping | perms | size | Rss | Pss | Private_Dirty |"
		echo "|---|---|---:|---:|---:|---:|"
		awk '/^[0-9a-f]+-[0-9a-f]+ /{ name = ($6 == "" ? "[anon]" : $6); sub(/.*\//, "", name); perm = $2 }
			/^Size:/{ sz = $2 } /^Rss:/{ rss = $2 } /^Pss:/{ pss = $2 } /^Private_Dirty:/{ pd = $2 }
			/^VmFlags:/{ printf "| %s | %s | %d | %d | %d | %d |\n", name, perm, sz, rss, pss, pd }' "/proc/$SUP/smaps"
		echo
		stop
	done
	echo "going's [stack] mapping as the table fills:"
	echo
	echo "| services | VmPeak | VmRSS | stack size | stack Rss |"
	echo "|---:|---:|---:|---:|---:|"
	for n in 0 1 64 256; do
		svcdir "$n"
		if ((n == 0)); then
			"$GOING" -d "$W/d" -s "$W/sock" >/dev/null 2>&1 & SUP=$!
			sleep 1
		else
			start going "$n" || continue
			sleep 1
		fi
		echo "| $n | $(awk '/^VmPeak:/{print $2}' "/proc/$SUP/status") | $(awk '/^VmRSS:/{print $2}' "/proc/$SUP/status") | $(awk '/\[stack\]/{f=1} f && /^Size:/{print $2; exit}' "/proc/$SUP/smaps") | $(awk '/\[stack\]/{f=1} f && /^Rss:/{print $2; exit}' "/proc/$SUP/smaps") |"
		stop
	done
	echo
fi

# ---------------------------------------------------------------- frames, size
if want frames && [[ -n $GSYM ]] && command -v python3 >/dev/null; then
	say "frames"
	echo "## The largest stack frames in going (bytes, from the function prologues; probed page by page on entry)"
	echo
	objdump -d --no-show-raw-insn "$GSYM" >"$W/going.dis"
	python3 - "$W/going.dis" <<'PY'
import re, subprocess, sys
fn = None; tot = 0; n = 0; loop = False; res = []
def flush():
    if fn and tot >= 2048: res.append((tot, fn))
for l in open(sys.argv[1]):
    m = re.match(r'^[0-9a-f]+ <(.*)>:$', l)
    if m:
        flush(); fn = m.group(1); tot = 0; n = 0; loop = False; continue
    n += 1
    if n > 60: continue
    m = re.search(r'sub +\$0x([0-9a-f]+),%rsp', l)
    if m and not (loop and int(m.group(1), 16) == 0x1000): tot += int(m.group(1), 16)
    m = re.search(r'sub +\$0x([0-9a-f]+),%r11', l)
    if m: tot += int(m.group(1), 16); loop = True
flush()
print("| frame | function |\n|---:|---|")
for t, f in sorted(res, reverse=True)[:16]:
    d = subprocess.run(['c++filt', f], capture_output=True, text=True).stdout.strip()
    print("| %d | `%s` |" % (t, re.sub(r'::h[0-9a-f]{16}$', '', d)))
PY
	echo
fi
if want size && [[ -n $GSYM ]]; then
	say "size"
	echo "## Bytes: going's text and read-only data by module (B; from the build with symbols)"
	echo
	echo "$(size -A "$GOING" | awk '$1 == ".text" || $1 == ".rodata" {printf "%s %d B; ", $1, $2}')file $(stat -c %s "$GOING") B."
	echo
	echo "| module | text |"
	echo "|---|---:|"
	nm -S --size-sort -t d "$GSYM" | c++filt | awk '$3 ~ /^[tTwW]$/ {
			n = $4; for (i = 5; i <= NF; i++) n = n " " $i
			if (n ~ /^going::/) { split(n, p, "::"); m = "going::" p[2] }
			else if (n ~ /::/ || n ~ /^</) m = "core, rustix, heapless"
			else m = "musl (and main)"
			s[m] += $2 }
		$3 ~ /^[rR]$/ && $4 ~ /^errmsg/ { s["musl strerror table (rodata)"] += $2 }
		END { for (m in s) printf "| %s | %d |\n", m, s[m] }' | sort -t'|' -k3 -rn
	if [[ -n $GOINGC ]]; then
		echo
		echo "C going for comparison: $(stat -c %s "$GOINGC") B; its own functions $(nm -S -t d "$B/going-c.sym" | awk '$3 ~ /^[tT]$/ && $4 ~ /^(main|parse_|add_new|remove_old|spawn_|respawn_|exec_child|block_signals|wait_forever|get_tail|has_child|child_|kill_|cleanup_|str_not|safe_|only_files|slog)/ {s += $2} END {print s + 0}') B of text, the rest musl (printf, malloc, stdio, syslog, scandir)."
	fi
	echo
fi

# ---------------------------------------------------------------- syscalls, cpu
if want syscalls && command -v strace >/dev/null; then
	say "syscalls"
	echo "## System calls (strace -c -f: the supervisor and its children until they are the service)"
	echo
	echo "| | going | C going | floor |"
	echo "|---|---:|---:|---:|"
	declare -A SC_R=() SC_C=()
	for k in "${KINDS[@]}"; do
		svcdir 64; start "$k" 64 || continue
		sleep 5.3
		strace -f -c -o "$W/sc-$k" -p "$SUP" 2>/dev/null & sp=$!
		sleep 0.5
		respawns 20
		sleep 0.3
		kill -INT "$sp"; wait "$sp" 2>/dev/null
		SC_R[$k]=$(awk '$NF == "total" {print $4}' "$W/sc-$k")
		stop
		svcdir 256
		start "$k" 256 strace -f -c -o "$W/scc-$k" || { stop; continue; }
		sleep 0.5
		stop    # SIGTERM, then the services: strace -f ends with the last of them
		SC_C[$k]=$(awk '$NF == "total" {print $4}' "$W/scc-$k")
	done
	echo "| per respawn (20 respawns; the new service's own 7 included) | $(awk -v a="${SC_R[going]:-}" 'BEGIN{print a/20}') | $(awk -v a="${SC_R[going-c]:-}" 'BEGIN{print a/20}') | $(awk -v a="${SC_R[floor]:-}" 'BEGIN{print a/20}') |"
	echo "| per service, cold start of 256 and SIGTERM | $(awk -v a="${SC_C[going]:-}" 'BEGIN{printf "%.1f", a/256}') | $(awk -v a="${SC_C[going-c]:-}" 'BEGIN{printf "%.1f", a/256}') | $(awk -v a="${SC_C[floor]:-}" 'BEGIN{printf "%.1f", a/256}') |"
	echo
	echo "going per respawn, by call: $(awk '/^ *[0-9]/ && $NF != "total" {printf "%s %.0f, ", $NF, $4 / 20}' "$W/sc-going" | sed 's/, $//')."
	echo
fi
if want cpu; then
	say "cpu"
	echo "## Supervisor CPU per respawn (schedstat: kernel + user time of the supervisor process; 40 respawns)"
	echo
	echo "| | CPU per respawn (µs) | minor faults per respawn | respawn median (ms) |"
	echo "|---|---:|---:|---:|"
	for k in "${KINDS[@]}"; do
		svcdir 64; start "$k" 64 || continue
		sleep 5.3
		s0=$(awk '{print $1}' "/proc/$SUP/schedstat"); f0=$(awk '{print $10}' "/proc/$SUP/stat")
		: >"$W/resp"
		while read -r ns pid; do "$TOOL" respawn "$FIFO" "$pid" "$ns" 5200 5000 >>"$W/resp"; done < <(head -n 40 "$W/recs")
		s1=$(awk '{print $1}' "/proc/$SUP/schedstat"); f1=$(awk '{print $10}' "/proc/$SUP/stat")
		n=$(grep -c '^[0-9]' "$W/resp")
		echo "| $k | $(( (s1 - s0) / n / 1000 )) | $(awk -v a="$f0" -v b="$f1" -v n="$n" 'BEGIN{printf "%.1f", (b - a) / n}') | $(awk '{print $1}' "$W/resp" | median 1000 %.2f) |"
		stop
	done
	echo
fi

# ---------------------------------------------------------------- instructions
if want instructions && [[ -n $GSYM ]] && command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
	say "instructions"
	echo "## User-space instructions (callgrind)"
	echo
	echo "| | start with 64 services | per respawn (20) |"
	echo "|---|---:|---:|"
	for k in going going-c; do
		[[ $k == going-c && -z $GOINGC ]] && continue
		svcdir 64
		bin=$GSYM; [[ $k == going-c ]] && bin=$B/going-c.sym
		exec {cfd}< <(exec "$TOOL" collect "$FIFO" 64 120000 "$W/t0" "$W/recs" {FIFO_FD}>&-)
		read -r -t 5 _ <&"$cfd"
		args=(-d "$W/d"); [[ $k == going ]] && args+=(-s "$W/sock")
		valgrind --tool=callgrind --callgrind-out-file="$W/cg-$k" "$bin" "${args[@]}" >/dev/null 2>&1 {FIFO_FD}>&- {cfd}<&- &
		SUP=$!
		read -r -t 130 _ <&"$cfd"; exec {cfd}<&-
		sleep 5.3
		callgrind_control -d start "$SUP" >/dev/null
		respawns 20
		sleep 0.5
		callgrind_control -d resp "$SUP" >/dev/null
		kill -TERM "$SUP"; wait "$SUP" 2>/dev/null; SUP=""
		"$TOOL" killtag none "$B/svc-" >/dev/null
		echo "| $k | $(awk '/^totals:/{print $2}' "$W/cg-$k.1") | $(awk '/^totals:/{print int($2 / 20)}' "$W/cg-$k.2") |"
		[[ $k == going ]] && cp "$W/cg-going.2" "$W/cg-going-resp"
	done
	echo
	if [[ -f $W/cg-going-resp ]]; then
		echo "going's respawn, the functions with the most instructions of their own (20 respawns):"
		echo
		echo '```'
		callgrind_annotate --threshold=100 --inclusive=no "$W/cg-going-resp" 2>/dev/null |
			grep -E '^ *[0-9,]+ \(' | grep -v -E 'PROGRAM TOTALS|_start_c|below main|libc_start_main|\?\?\?:main |0x0000000000' |
			sed -E 's/\[[^]]*\]//; s/\?\?\?://' | head -n 12
		echo '```'
		echo
	fi
fi

# ---------------------------------------------------------------- order
if want order; then
	say "order"
	echo "## A cold start of 256 by the order its directory lists the files ($(stat -f -c %T "$W"), 7 starts each, alternating)"
	echo
	echo "| listed | first service running, median (ms) | all 256 running, median (ms) |"
	echo "|---|---:|---:|"
	: >"$W/ord-newest"; : >"$W/ord-sorted"
	declare -A LISTED=()
	for ((r = 0; r < 7; r++)); do
		for o in newest sorted; do
			svcdir 256 "$([[ $o == sorted ]] && echo reverse)"
			LISTED[$o]=$(ls -U "$W/d" | head -n 3 | tr '\n' ' ')
			STARTED=""
			start going 256 && echo "$STARTED" >>"$W/ord-$o"
			stop
		done
	done
	for o in newest sorted; do
		label="in name order"; [[ $o == newest ]] && label="newest first (the reverse of name order)"
		echo "| $label: ${LISTED[$o]}… ($(wc -l <"$W/ord-$o") starts) | $(awk '{print $2}' "$W/ord-$o" | median 1000 %.2f) | $(awk '{print $1}' "$W/ord-$o" | median 1000 %.1f) |"
	done
	echo
fi

# ---------------------------------------------------------------- phases (ftrace)
EVENTS="raw_syscalls/sys_enter raw_syscalls/sys_exit sched/sched_process_exit sched/sched_process_fork sched/sched_process_exec sched/sched_wakeup sched/sched_switch"
TRACING=""
trace_on() { # pids...
	echo 0 >"$T/tracing_on"; echo >"$T/trace"
	echo mono >"$T/trace_clock"; echo 16384 >"$T/buffer_size_kb"
	echo 1 >"$T/options/event-fork"
	local p e
	: >"$T/set_event_pid"
	for p in "$@"; do echo "$p" >>"$T/set_event_pid"; done
	for e in $EVENTS; do echo 1 >"$T/events/$e/enable"; done
	TRACING=1
	echo 1 >"$T/tracing_on"
}
trace_off() {
	local e
	echo 0 >"$T/tracing_on"
	for e in $EVENTS; do echo 0 >"$T/events/$e/enable"; done
	: >"$T/set_event_pid"; echo 0 >"$T/options/event-fork"
	TRACING=""
}
if want phases && command -v python3 >/dev/null && (($(id -u) == 0)); then
	[[ -d $T/events ]] || mount -t tracefs nodev "$T" 2>/dev/null
fi
if want phases && [[ -w $T/tracing_on ]] && command -v python3 >/dev/null; then
	say "phases"
	cat >"$W/phases.py" <<'PY'
import re, statistics, sys
pat = re.compile(r'^\s*(.+)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$')
def load(path):
    ev = []
    for l in open(path):
        m = pat.match(l)
        if m:
            _, pid, cpu, ts, name, rest = m.groups()
            ev.append((float(ts) * 1e6, int(pid), int(cpu), name, rest))
    return ev
SPAWN = {56, 57, 58, 435}     # clone, fork, vfork, clone3
def nr(e): return int(e[4].split()[1])
def after(ev, i, test):
    while i < len(ev) and not test(ev[i]): i += 1
    return i
def respawn(path, label):
    ev = load(path)
    forks = [e for e in ev if e[3] == 'sched_process_fork']
    sup = int(re.search(r' pid=(\d+)', forks[0][4]).group(1))
    rows = []
    for i, e in enumerate(ev):
        if e[3] != 'sched_process_exit' or e[1] == sup: continue
        j = after(ev, i + 1, lambda q: q[1] == sup)
        k = after(ev, j, lambda q: q[1] == sup and q[3] == 'sys_enter' and nr(q) in SPAWN)
        f = after(ev, k, lambda q: q[3] == 'sched_process_fork' and q[1] == sup)
        if f >= len(ev): break
        child = int(re.search(r'child_pid=(\d+)', ev[f][4]).group(1))
        c = after(ev, f + 1, lambda q: q[1] == child)
        x = after(ev, c, lambda q: q[1] == child and q[3] == 'sys_enter' and nr(q) == 59)
        y = after(ev, x, lambda q: q[1] == child and q[3] == 'sched_process_exec')
        z = after(ev, y, lambda q: q[1] == child and q[3] == 'sys_enter' and nr(q) == 1)
        if z >= len(ev): break
        sysc = lambda a, b, p: sum(1 for q in ev[a:b] if q[1] == p and q[3] == 'sys_enter')
        rows.append(dict(wake=ev[j][0] - e[0], pre=ev[k][0] - ev[j][0], clone=ev[c][0] - ev[k][0],
                         child=ev[x][0] - ev[c][0], execve=ev[y][0] - ev[x][0], svc=ev[z][0] - ev[y][0],
                         total=ev[z][0] - e[0], n_pre=sysc(j, k, sup), n_child=sysc(c, x, child),
                         n_during=sysc(x, y, sup)))
    med = lambda key: statistics.median(r[key] for r in rows) if rows else 0
    print("| %s | %d | %.0f | %.0f (%d) | %.0f | %.0f (%d) | %.0f (%d) | %.0f | %.0f |" % (
        label, len(rows), med('wake'), med('pre'), med('n_pre'), med('clone'), med('child'), med('n_child'),
        med('execve'), med('n_during'), med('svc'), med('total')))
def cold(path, label):
    ev = load(path)
    execs = [e for e in ev if e[3] == 'sched_process_exec']
    sup = execs[0][1]
    t_exec = [e for e in execs if e[1] == sup][-1][0]
    spawns, cur, kids, stamps = [], None, set(), {}
    for e in ev:
        if e[1] == sup and e[3] == 'sys_enter' and nr(e) in SPAWN: cur = e[0]
        elif e[1] == sup and e[3] == 'sys_exit' and cur is not None and nr(e) in SPAWN: spawns.append((cur, e[0])); cur = None
        elif e[3] == 'sched_process_fork' and e[1] == sup: kids.add(int(re.search(r'child_pid=(\d+)', e[4]).group(1)))
        elif e[1] in kids and e[3] == 'sys_enter' and e[4].startswith('NR 1 (3,'): stamps.setdefault(e[1], e[0])
    if not spawns: return
    inside = [b - a for a, b in spawns]
    gaps = [spawns[i + 1][0] - spawns[i][1] for i in range(len(spawns) - 1)]
    first, last = spawns[0][0], spawns[-1][1]
    n_first = sum(1 for e in ev if e[1] == sup and e[3] == 'sys_enter' and e[0] < first)
    n_loop = sum(1 for e in ev if e[1] == sup and e[3] == 'sys_enter' and first <= e[0] <= last)
    print("| %s | %.1f (%d) | %.0f | %.1f | %.0f | %.1f | %.1f | %.1f |" % (
        label, (first - t_exec) / 1000, n_first, statistics.median(inside), sum(inside) / 1000,
        statistics.median(gaps), sum(gaps) / 1000, n_loop / len(spawns),
        (max(stamps.values()) - t_exec) / 1000 if stamps else 0))
{'respawn': respawn, 'cold': cold}[sys.argv[1]](sys.argv[2], sys.argv[3])
PY
	echo "## Phases (ftrace, CLOCK_MONOTONIC; tracing itself adds about 1 µs per system call)"
	echo
	echo "Respawn, medians of 20 (µs; system calls in brackets): the killed service's exit → the supervisor running → its spawn call → the child running → its execve → the new program → its stamp. \"execve\" includes any time the supervisor takes the CPU back from the child before execve is done (its system calls then in brackets)."
	echo
	echo "| | n | wake | before spawn | spawn call → child | child → execve | execve | → stamp | exit → stamp |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for k in "${KINDS[@]}" floor-fork; do
		kk=$k; [[ $k == floor-fork ]] && kk=floor
		svcdir 64
		if [[ $k == floor-fork ]]; then
			exec {cfd}< <(exec "$TOOL" collect "$FIFO" 64 20000 "$W/t0" "$W/recs" {FIFO_FD}>&-)
			read -r -t 5 _ <&"$cfd"
			"$TOOL" t0 "$W/t0" "$B/floor" 64 "$B/svc-sleep" fork >/dev/null 2>&1 {FIFO_FD}>&- {cfd}<&- & SUP=$!
			read -r -t 25 _ <&"$cfd"; exec {cfd}<&-
		else
			start "$kk" 64 || continue
		fi
		sleep 5.3
		mapfile -t kids < <(pgrep -P "$SUP")
		trace_on "$SUP" "${kids[@]}"
		respawns 20
		trace_off
		cat "$T/trace" >"$W/tr-$k"; echo >"$T/trace"
		python3 "$W/phases.py" respawn "$W/tr-$k" "$k"
		stop
	done
	echo
	echo "Cold start of 256 (ms unless said): exec → first spawn call (system calls before it), the time inside each spawn call (median µs, and the sum), between spawn calls (median µs, and the sum), the supervisor's system calls per service, exec → last stamp."
	echo
	echo "| | exec → first spawn | in spawn, median µs | in spawn, sum | between, median µs | between, sum | calls per service | exec → last stamp |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	for k in "${KINDS[@]}" floor-fork; do
		svcdir 256
		case $k in
		going) cmd=("$GOING" -d "$W/d" -s "$W/sock") ;;
		going-c) cmd=("$GOINGC" -d "$W/d") ;;
		floor) cmd=("$B/floor" 256 "$B/svc-sleep") ;;
		floor-fork) cmd=("$B/floor" 256 "$B/svc-sleep" fork) ;;
		esac
		exec {cfd}< <(exec "$TOOL" collect "$FIFO" 256 20000 "$W/t0" "$W/recs" {FIFO_FD}>&-)
		read -r -t 5 _ <&"$cfd"
		trace_on $$
		bash -c 'echo $$ >'"$T/set_event_pid"'; exec "$@"' _ "$TOOL" t0 "$W/t0" "${cmd[@]}" >/dev/null 2>&1 {FIFO_FD}>&- {cfd}<&- &
		SUP=$!
		read -r -t 25 _ <&"$cfd"; exec {cfd}<&-
		trace_off
		cat "$T/trace" >"$W/trc-$k"; echo >"$T/trace"
		python3 "$W/phases.py" cold "$W/trc-$k" "$k"
		stop
	done
	echo
elif want phases; then
	echo "(phases left out: they need root, tracefs at $T and python3)"
	echo
fi
say "done"
exit 0
}

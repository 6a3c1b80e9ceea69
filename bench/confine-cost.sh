#!/usr/bin/env bash
# confine-cost.sh: what each confinement key (going(5) CONFINEMENT) adds to
# a respawn. One going supervises COPIES services of each variant below;
# every round SIGKILLs each service once (each up > 5 s, so none backs off)
# and times, with benchtool's "respawn-file", the SIGKILL to the replacement's
# first instruction after exec (its stamp). The variants are interleaved in
# each round, so a burst of load on the machine hits them all alike.
#
#   bench/confine-cost.sh            needs root; prints a Markdown table
#   GOING=path COPIES=4 ROUNDS=8     the binary (default ./going, else the
#                                    cargo release build); samples per
#                                    variant = COPIES x ROUNDS (>= 30).
#                                    Two variants have private_network:
#                                    going keeps the namespaces of 8
#                                    services (limits.rs MAX_NETWORKS),
#                                    so more than 4 copies would time
#                                    new namespaces for the rest
#   BENCH_DIR=/var/tmp               where the work directory goes: not
#                                    under /tmp, which private_tmp hides
#
# Each row gives the median and the largest respawn time in ms, and the
# median of the differences to its baseline killed in the same round:
# "base" for services running as root, "user" (user=nobody) for those with
# user=. The issue's bound is +0.5 ms.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
COPIES=${COPIES:-4}
ROUNDS=${ROUNDS:-8}
MINUP_MS=5200 # a service must be up > 5 s before it is killed

if [[ $(id -u) != 0 ]]; then
	echo "confine-cost: skipped: namespaces, capabilities and user= need root" >&2
	exit 0
fi
GOING=${GOING:-}
if [[ -z $GOING ]]; then
	if [[ -x $TOP/going ]]; then GOING=$TOP/going
	else GOING=$TOP/target/x86_64-unknown-linux-musl/release/going; fi
fi
[[ -x $GOING ]] || { echo "confine-cost: no going at $GOING (make build)" >&2; exit 1; }

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/going-confine.XXXXXX")
chmod 755 "$W"
GPID=
cleanup() {
	if [[ -n $GPID ]]; then
		kill -TERM "$GPID" 2>/dev/null || true
		wait "$GPID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT

# Services run it too ("stamp"): static, so no dynamic loader runs first.
TOOL=$W/benchtool
gcc -O2 -static -o "$TOOL" "$HERE/benchtool.c" 2>"$W/gcc.log" ||
	gcc -O2 -o "$TOOL" "$HERE/benchtool.c" 2>>"$W/gcc.log" ||
	{ echo "confine-cost: cannot build benchtool:" >&2; cat "$W/gcc.log" >&2; exit 1; }
chmod 755 "$TOOL"

USER_=nobody
getent passwd nobody >/dev/null || USER_=65534

# name, baseline, keys (\n-separated)
VARIANTS=(
	"base||"
	"no_new_privs|base|no_new_privs=yes"
	"capabilities|base|capabilities=net_bind_service"
	"private_network|base|private_network=yes"
	"read_only|base|read_only=/usr /etc"
	"private_tmp|base|private_tmp=yes"
	"user|base|user=$USER_"
	"user+capabilities|user|user=$USER_\ncapabilities=net_bind_service"
	"user+all|user|user=$USER_\ncapabilities=net_bind_service\nno_new_privs=yes\nprivate_network=yes\nread_only=/usr /etc\nprivate_tmp=yes"
)

mkdir -p "$W/going.d" "$W/stamps"
chmod 1777 "$W/stamps"
NAMES=()
for ((c = 0; c < COPIES; c++)); do
	for ((v = 0; v < ${#VARIANTS[@]}; v++)); do
		IFS='|' read -r label _ keys <<<"${VARIANTS[v]}"
		name=$(printf 'v%d-c%d' "$v" "$c")
		NAMES+=("$name")
		printf 'cmd=%s stamp %s\n%b\n' "$TOOL" "$W/stamps/$name" "$keys" >"$W/going.d/$name"
	done
done

"$TOOL" t0 "$W/t0" "$GOING" -d "$W/going.d" -s "$W/sock" >"$W/log" 2>&1 &
GPID=$!
up=$("$TOOL" waitall "$W/stamps" "${#NAMES[@]}" 15000 "$W/t0")
if [[ $up == timeout* ]]; then
	echo "confine-cost: not every service started; going's log:" >&2
	tail -n 20 "$W/log" >&2
	exit 1
fi

# Each round kills every service once, the variants of one copy together
# and in a rotating order, so a service and its baseline are killed within
# a fraction of a second of each other.
NV=${#VARIANTS[@]}
for ((r = 0; r < ROUNDS; r++)); do
	echo "confine-cost: round $((r + 1)) of $ROUNDS (${#NAMES[@]} respawns)" >&2
	for ((c = 0; c < COPIES; c++)); do
		for ((k = 0; k < NV; k++)); do
			v=$(((k + r + c) % NV))
			name="v$v-c$c"
			us=$("$TOOL" respawn-file "$W/stamps/$name" "$MINUP_MS" 10000)
			if [[ $us =~ ^[0-9]+$ ]]; then echo "$r $c $v $us" >>"$W/samples"
			else echo "confine-cost: $name: $us" >&2; fi
			sleep 0.05
		done
	done
done

# The baseline's index of each variant (-1 for none).
BASES=()
for ((v = 0; v < NV; v++)); do
	IFS='|' read -r _ base _ <<<"${VARIANTS[v]}"
	b=-1
	for ((u = 0; u < NV; u++)); do
		IFS='|' read -r label _ _ <<<"${VARIANTS[u]}"
		[[ -n $base && $label == "$base" ]] && b=$u
	done
	BASES+=("$b")
done

# Per variant: median and max in ms, the count, and the median of the
# differences to its baseline killed in the same round and copy.
awk -v bases="${BASES[*]}" '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ t[$1, $2, $3] = $4; n[$3]++; s[$3, n[$3]] = $4; if ($4 > mx[$3]) mx[$3] = $4; R[$1]; C[$2] }
	END {
		nb = split(bases, B, " ")
		for (v = 0; v < nb; v++) {
			k = 0; delete a
			for (i = 1; i <= n[v]; i++) a[i] = s[v, i]
			med = n[v] ? median(a, n[v]) : 0
			b = B[v + 1]; d = "-"
			if (b >= 0) {
				m = 0; delete a
				for (r in R) for (c in C) if (((r, c, v) in t) && ((r, c, b) in t)) a[++m] = t[r, c, v] - t[r, c, b]
				if (m) d = sprintf("%+.3f", median(a, m) / 1000)
			}
			printf "%d %.3f %.3f %d %s\n", v, med / 1000, mx[v] / 1000, n[v], d
		}
	}' "$W/samples" >"$W/table"

echo "| variant | keys | median ms | max ms | samples | paired difference to baseline, median ms |"
echo "|---|---|---:|---:|---:|---:|"
while read -r v med max n d; do
	IFS='|' read -r label base keys <<<"${VARIANTS[v]}"
	shown=${keys//\\n/, }
	[[ -n $base ]] && d="$d (vs $base)"
	echo "| $label | ${shown:-(none)} | $med | $max | $n | $d |"
done <"$W/table"
echo
echo "going $("$GOING" -V | cut -d' ' -f2), $(uname -r), $(nproc) CPUs, $COPIES x $ROUNDS samples a variant"

#!/usr/bin/env bash
# bench/compare.sh OLD.tsv NEW.tsv — two runs of bench/run.sh side by side.
#
# For every kind and metric in both files (bench/results.tsv is what each run
# writes; keep a copy before the next), prints the two medians and NEW ÷ OLD,
# and marks the pairs that differ by more than 10 %. Use it to see whether
# two runs agree, or what a change to going did. Exit 0 always.
set -u -o pipefail
if (($# != 2)) || [[ ! -r $1 || ! -r $2 ]]; then
	echo "usage: bench/compare.sh OLD.tsv NEW.tsv" >&2
	exit 64
fi
echo "| kind | metric | old | new | new ÷ old | |"
echo "|---|---|---:|---:|---:|---|"
awk -F'\t' '
	FNR == 1 && /^#/ { next }
	NR == FNR { old[$1 "\t" $2] = $3; next }
	($1 "\t" $2) in old {
		o = old[$1 "\t" $2]; n = $3
		if (o + 0 == 0) r = (n + 0 == 0 ? "1.00" : "—")
		else r = sprintf("%.2f", n / o)
		flag = (r != "—" && (r + 0 > 1.10 || r + 0 < 0.90)) ? "**> 10 %**" : ""
		printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, o, n, r, flag
	}' "$1" "$2" | sort

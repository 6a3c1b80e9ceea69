#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] — runs every fuzz target of going for SECONDS each
# (default 60), one after the other, one libFuzzer process at a time.
#
# Needs a nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly --profile minimal
#   cargo install cargo-fuzz
# Without them it says "skipped" and exits 0, so CI can always call it.
#
# The committed seeds in corpus/TARGET are read, never written: what a run
# finds goes to target/corpus/TARGET (kept between runs). To fold it into
# the seeds, minimised:
#   cargo +nightly fuzz run TARGET corpus/TARGET target/corpus/TARGET -- -merge=1
# A crash leaves its input in artifacts/TARGET/ and makes the run exit 1;
# replay it with `cargo +nightly fuzz run TARGET artifacts/TARGET/FILE`.
set -uo pipefail

secs=${1:-60}
case $secs in
    '' | *[!0-9]*)
        echo "usage: fuzz/run.sh [SECONDS]" >&2
        exit 64
        ;;
esac
cd "$(dirname "$0")" || exit 1

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped: no nightly toolchain (rustup toolchain install nightly --profile minimal)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: skipped: no cargo-fuzz (cargo install cargo-fuzz)"
    exit 0
fi

targets=(config cmdline request procfile)
# Config files and Procfiles are read up to 4096 bytes: go a little past.
declare -A max_len=([config]=4200 [procfile]=4200 [cmdline]=1024 [request]=600)

cargo +nightly fuzz build || exit 1
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "target/corpus/$t"
    log=target/fuzz-$t.log
    echo "=== fuzz $t for ${secs}s"
    cargo +nightly fuzz run "$t" "target/corpus/$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len="${max_len[$t]}" -print_final_stats=1 >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -n 8
        summary+=("$t: FAILED after ${runs:-?} executions (see fuzz/$log)")
    else
        summary+=("$t: ${runs:-?} executions in ${secs}s, ${cov:-cov: ?}, no crash")
    fi
done

echo "=== fuzz summary"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]}" >&2
    exit 1
fi

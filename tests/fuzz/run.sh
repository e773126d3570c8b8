#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs the libFuzzer targets of tests/fuzz (tests/fuzz/README), each for
# SECONDS (default 30), and fails on any crash, leak, timeout or sanitizer
# report.  Used by `./bootstrap test`.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      TARGET: conf, frame, ...
#
# Builds with clang in FUZZ_BUILD (default build-fuzz), configuring it on
# the first run.  Each target starts from its checked-in corpus
# (tests/fuzz/corpus/TARGET), seeds it generates afresh through the public
# API (so they match the current wire format), and what earlier runs found
# (FUZZ_BUILD/fuzz/TARGET/corpus, where new inputs go).  A crashing input is
# left as FUZZ_BUILD/fuzz/TARGET/crash-* and its report in .../log.
set -euo pipefail
cd "$(dirname "$0")/../.."

all=(conf frame datagram replay session noise vnet gro status key endpoint prefix cookie metrics mtu
	index_table allowedips mactable topology nat)
secs=30
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
	secs=$1
	shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
	if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
		echo "run.sh: no target '$t' (one of: ${all[*]})" >&2
		exit 2
	fi
done

build=${FUZZ_BUILD:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Db_sanitize=address,undefined \
		-Dc_args=-fsanitize=fuzzer-no-link -Db_lundef=false -Dwerror=true
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz_}"

# UBSan only reports by default: make every report a crash libFuzzer keeps.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# CI (CI=true) fuzzes with a fixed seed, so a report there replays here
# exactly; elsewhere libFuzzer draws one.  FUZZ_SEED overrides either.
seed=${FUZZ_SEED:-$([ "${CI:-}" = true ] && echo 1 || echo 0)}
failed=()
summary=()
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz_$t
	work=$build/fuzz/$t
	mkdir -p "$work/corpus"
	rm -rf "$work/generated" "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*
	mkdir -p "$work/generated"
	if ! CULVERT_FUZZ_GEN=$work/generated "$bin" >"$work/log" 2>&1; then
		echo "== fuzz_$t: generating seeds failed"
		tail -n 40 "$work/log"
		failed+=("$t")
		continue
	fi
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
		-artifact_prefix="$work/" -seed="$seed")
	[ ! -f "tests/fuzz/$t.dict" ] || args+=(-dict="tests/fuzz/$t.dict")
	dirs=("$work/corpus" "tests/fuzz/corpus/$t" "$work/generated")
	[ "$t" != conf ] || dirs+=(doc/examples)
	[ "$t" != topology ] || dirs+=(doc/topologies)
	echo "== fuzz_$t: $secs s"
	if ! "$bin" "${args[@]}" "${dirs[@]}" >"$work/log" 2>&1; then
		failed+=("$t")
		tail -n 40 "$work/log"
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null || true
	fi
	# "#N DONE cov: C ft: F corp: U/SIZE ... exec/s: E" and the final stats.
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | tail -n 1 || true)
	cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
	ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
	corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$done_line")
	runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$work/log")
	eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$work/log")
	rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+)/\1/p' "$work/log")
	seeds=$(find "tests/fuzz/corpus/$t" "$work/generated" -type f | wc -l)
	summary+=("$(printf '%-9s %10s %8s %6s %7s %6s %7s %6s' "$t" "${runs:-?}" "${eps:-?}" \
		"${cov:-?}" "${ft:-?}" "$seeds" "${corp:-?}" "${rss:-?}")")
done

printf '\n%-9s %10s %8s %6s %7s %6s %7s %6s\n' target inputs exec/s cov ft seeds corpus rss_mb
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "run.sh: FAILED: ${failed[*]} (logs and inputs in $build/fuzz/TARGET/)" >&2
	exit 1
fi
echo "run.sh: ${#targets[@]} target(s), $secs s each: no crash, leak or sanitizer report"

#!/usr/bin/env bash
# Soak test: runs the whole suite (every libtest binary and both cucumber targets, as
# `cargo test --workspace` runs them) N times in a row while another process keeps every core
# busy, and prints how many runs failed and which tests failed in them. A test that fails once
# in N runs is a defect: the target is 0 failures.
#
# Usage: scripts/soak-suite.sh [N] [-- extra cargo test args]   (default N = 20)
# A run that takes longer than SOAK_RUN_TIMEOUT seconds (default 1800) is stopped and counted
# as failed, naming the test binary it hung in.
# Logs of failed runs are kept in target/soak/run-<i>.log.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-20}"
shift || true
[ "${1:-}" = "--" ] && shift
out=target/soak
run_timeout="${SOAK_RUN_TIMEOUT:-1800}"
mkdir -p "$out"
rm -f "$out"/run-*.log "$out"/failures.txt

# Nothing may be skipped for a missing prerequisite (see README, "Testing").
export ENTRA_TESTS_REQUIRE_ALL=1
echo "soak: building the suite" >&2
cargo test --workspace --no-run --quiet "$@" >/dev/null 2>&1 || {
  echo "soak: the suite does not build" >&2
  exit 2
}

# The load: one busy loop per core, in a process of its own, for the whole soak.
cores=$(nproc)
load_pids=()
for _ in $(seq "$cores"); do
  sh -c 'while :; do :; done' &
  load_pids+=($!)
done
trap 'kill "${load_pids[@]}" 2>/dev/null || true' EXIT

failed_runs=0
times=()
for i in $(seq "$runs"); do
  log="$out/run-$i.log"
  start=$(date +%s.%N)
  # A hang is a failure too: the run is stopped after SOAK_RUN_TIMEOUT seconds.
  rc=0
  timeout --kill-after=30 "$run_timeout" cargo test --workspace --no-fail-fast "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then status=ok; else status=FAILED; fi
  end=$(date +%s.%N)
  t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  times+=("$t")
  # libtest: "test name ... FAILED"; cucumber: the harness's "Scenario failed: name" report.
  names=$(grep -E '^test .* \.\.\. FAILED$|^Scenario failed: ' "$log" |
    sed -E 's/^test (.*) \.\.\. FAILED$/\1/; s/^Scenario failed: /scenario: /' | sort -u || true)
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    hung=$(grep -E '^ +Running ' "$log" | tail -1 | sed -E 's/^ +Running //')
    names=$(printf '%s\n%s' "$names" "hang: no end within ${run_timeout} s, in $hung")
  fi
  if [ "$status" = FAILED ]; then
    failed_runs=$((failed_runs + 1))
    [ -n "$names" ] || names="(no test named: see $log)"
    printf '%s\n' "$names" | sed '/^$/d' | sed "s/^/run $i: /" >>"$out/failures.txt"
  else
    rm -f "$log"
  fi
  printf 'soak: run %d/%d %s in %s s\n' "$i" "$runs" "$status" "$t" >&2
done

printf '%s\n' "${times[@]}" | sort -n >"$out/times.txt"
min=$(head -1 "$out/times.txt")
max=$(tail -1 "$out/times.txt")
median=$(awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }' "$out/times.txt")
echo
echo "soak: $runs runs with $cores busy loops beside them on $cores cores: $failed_runs failed"
echo "soak: wall time per run: min $min s, median $median s, max $max s"
if [ "$failed_runs" -gt 0 ]; then
  echo "soak: failed tests (times failed, name):"
  sed -E 's/^run [0-9]+: //' "$out/failures.txt" | sort | uniq -c | sort -rn
  echo "soak: logs of the failed runs are in $out/"
  exit 1
fi

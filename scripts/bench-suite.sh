#!/usr/bin/env bash
# Times the Gherkin suite once it is built: prints the wall time of `cargo test --test features`
# (every feature file, swtpm scenarios included) and of the remote-target run, best of N runs.
# Usage: scripts/bench-suite.sh [runs]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
cargo test --quiet --no-run --test features --test features_remote >/dev/null 2>&1
time_one() {
  local start end
  start=$(date +%s.%N)
  if ! cargo test --quiet --test "$1" >/tmp/bench-suite-$1.log 2>&1; then
    echo "the suite failed; see /tmp/bench-suite-$1.log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
for target in features features_remote; do
  best=""
  for _ in $(seq "$runs"); do
    t=$(time_one "$target")
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then best=$t; fi
  done
  scenarios=$(grep -Eo '^[0-9]+ scenarios' "/tmp/bench-suite-$target.log" | tail -1)
  printf '%-16s %s in %.2f s (best of %s runs, %s cores)\n' "$target" "$scenarios" "$best" "$runs" "$(nproc)"
done

#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation, as `cargo fuzz build -s none`
# does, for machines without cargo-fuzz. Needs the nightly toolchain and a C++ compiler.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
exec cargo +nightly build --release --target "$(rustc +nightly -vV | sed -n 's/^host: //p')" "$@"

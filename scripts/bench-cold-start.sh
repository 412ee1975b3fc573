#!/usr/bin/env bash
# Cold start of the three function binaries (benches/cold_start/): builds their native
# release binaries, then starts each one 30 times against a minimal Lambda Runtime API on
# 127.0.0.1 and prints p50/p90/max of "ready" (first poll for an event) and "first answer".
# Honours CARGO_TARGET_DIR; COLD_START_RUNS changes the number of starts per function.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -p taskpulse-api -p taskpulse-consumer -p taskpulse-relay
TASKPULSE_RELEASE_DIR="$target_dir/release" cargo bench --bench cold_start

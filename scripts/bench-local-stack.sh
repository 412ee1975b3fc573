#!/usr/bin/env bash
# Local stack throughput and freshness on the embedded backend (release build): the stack is
# started once per event source mapping setting and the simulator drives the same workload
# through it. Results go to docs/benchmarks.md by hand.
#
#   bash scripts/bench-local-stack.sh [users] [tasks] [concurrency]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
users=${1:-200}
tasks=${2:-50000}
concurrency=${3:-64}

cargo build --release --quiet --bin taskpulse
bin=target/release/taskpulse

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# measure LABEL "SIMULATOR OPTIONS" [STACK OPTIONS...]
measure() {
  local label=$1 load=$2; shift 2
  local port log pid
  port=$(free_port)
  log=$(mktemp)
  "$bin" --port "$port" "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on ' "$log" && break; sleep 0.1; done
  echo "== $label ($*)"
  # shellcheck disable=SC2086 # $load holds several options
  "$bin" simulate --url "http://127.0.0.1:$port" --seed 42 --quiet $load \
    | grep -E 'commands|events|freshness|PASS|FAIL'
  kill -INT "$pid"; wait "$pid" || true
  rm -f "$log"
}

full="--users $users --tasks $tasks --concurrency $concurrency"
paced="--users 50 --tasks 1500 --concurrency 16 --rate 300"
for load in "$full" "$paced"; do
  echo "#### load: $load"
  measure "template defaults: batch 100, window 1 s, 10 pollers" "$load"
  measure "low latency, valid on AWS: batch 10, no window" "$load" --batch-size 10 --batching-window-ms 0
  measure "local only: batch 100, window 200 ms" "$load" --batching-window-ms 200
done

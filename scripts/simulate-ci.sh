#!/usr/bin/env bash
# The README's first command (`cargo run`, the local stack) started on a free port, the traffic
# simulator run against it (small, with duplicated and reordered deliveries and poison
# messages, users in six time zones, paced so that a rebuild of the analytics from the event
# archive to `tasks-v3` goes from building to active while the traffic runs, and one user
# erased halfway), then Ctrl-C; once
# on the embedded backend and once on moto (`--backend moto`).
# Fails if the simulator reports FAIL or the stack does not stop cleanly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p target

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_backend() {
  local backend=$1 port log
  port=$(free_port)
  log="target/ci-stack-$backend.log"
  # `cargo run` replaces itself with the binary (exec on Unix), so the signal reaches it.
  # A short erasure settle time: the local consumer's batches take well under a second here.
  ERASURE_SETTLE_SECONDS=2 cargo run --quiet -- --backend "$backend" --port "$port" --batching-window-ms 200 --visibility-timeout-secs 4 >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 240); do
    if grep -q '^listening on ' "$log"; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then cat "$log"; echo "the $backend stack exited"; return 1; fi
    sleep 0.5
  done
  grep -q '^listening on ' "$log" || { cat "$log"; echo "the $backend stack did not start"; kill "$pid"; return 1; }
  set +e
  cargo run --quiet -- simulate --url "http://127.0.0.1:$port" --users 5 --tasks 60 --chaos --quiet \
    --rate 4 --rebuild tasks-v3 --erase
  local simulated=$?
  set -e
  kill -INT "$pid"
  local stopped=0
  wait "$pid" || stopped=$?
  cat "$log"
  if [ "$simulated" -ne 0 ]; then echo "simulator FAILED against $backend"; return 1; fi
  if [ "$stopped" -ne 0 ]; then echo "the $backend stack exited with $stopped on Ctrl-C"; return 1; fi
  grep -q '^Stopped.$' "$log" || { echo "no clean stop of the $backend stack"; return 1; }
}

run_backend embedded
run_backend moto

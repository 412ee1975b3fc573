#!/usr/bin/env bash
# Instructions per consumed event, counted by valgrind's callgrind: the same figure on every run
# of the same binary, however busy the machine (criterion's times on a shared 2-core VM vary by
# a third between runs). `benches/consumer_cpu.rs` is run with no pass and with two passes of
# its 10,000-event batch (`CONSUMER_CPU_PASSES`); the difference, over 20,000 events, is the
# work per event without the batch's generation.
#
# Usage: scripts/bench-consumer-instructions.sh   (needs valgrind: apt-get install valgrind)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Build errors go to the terminal; the JSON messages name the benchmark's executable.
cargo bench --bench consumer_cpu --no-run --message-format=json >"$out/build.json"
binary=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "consumer_cpu" and m.get("executable"):
        print(m["executable"])' "$out/build.json")
[ -n "$binary" ] || { echo "the consumer_cpu benchmark was not built" >&2; exit 1; }

instructions() { # work passes
  if ! CONSUMER_CPU_WORK=$1 CONSUMER_CPU_PASSES=$2 valgrind --tool=callgrind \
    --callgrind-out-file="$out/cg" "$binary" >"$out/log" 2>&1; then
    cat "$out/log" >&2
    echo "the counted run ($1, $2 passes) failed" >&2
    exit 1
  fi
  sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$out/log"
}

printf '%-26s %s\n' "work" "instructions per event"
for work in decode pipeline; do
  none=$(instructions "$work" 0) || exit 1
  two=$(instructions "$work" 2) || exit 1
  label=$work
  [ "$work" = pipeline ] && label="decode + project + plan"
  printf '%-26s %s\n' "$label" "$(( (two - none) / 20000 ))"
done

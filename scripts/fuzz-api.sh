#!/usr/bin/env bash
# Schemathesis, a third-party API fuzzer, against the local stack (`cargo run`, embedded
# backend) with `docs/openapi.yaml`: generated requests, valid and invalid, to every route.
# Fails on any 5xx, any answer that breaks the description (status, content type, body schema,
# headers) and any request the description calls invalid that the server accepts.
#
#   bash scripts/fuzz-api.sh            # 3 minutes (CI runs 120 s, with a fixed seed)
#   bash scripts/fuzz-api.sh 1800       # half an hour; FUZZ_SEED=N to replay a run
#
# The failures, with a curl command to reproduce each, are printed and kept in
# target/fuzz/ (a JUnit report and the run's cassette).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-180}
# CI replays the same cases each run, so that a failure there is reproducible; elsewhere each
# run explores new ones (its seed is printed).
if [ -n "${CI:-}" ]; then default_seed=1; else default_seed=$RANDOM; fi
seed=${FUZZ_SEED:-$default_seed}
mkdir -p target/fuzz

source scripts/python-venv.sh
python_venv .venv-fuzz tests/requirements-fuzz.txt

log=target/fuzz/stack.log
# A port of the stack's own choosing (no race for a port picked here); a short batching
# window, so the fuzzer's tasks are counted as they come.
cargo run --quiet -- --port 0 --batching-window-ms 100 >"$log" 2>&1 &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  if grep -q '^listening on ' "$log"; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$log"; echo "the stack exited"; exit 1; fi
  sleep 0.5
done
grep -q '^listening on ' "$log" || { cat "$log"; echo "the stack did not start"; exit 1; }
url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$log" | head -n 1)

echo "fuzzing $url for ${seconds} s, seed $seed"
set +e
# A bearer token as a client of the deployed API sends one (the local stack takes its claims
# without a signature check): the fuzzer also sends requests without it, which must be 401.
# Its scope opens the global analytics too; every other header, parameter and body is the
# fuzzer's.
token() {
  python3 -c 'import base64, json, sys
part = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).decode().rstrip("=")
print(part({"alg": "none"}) + "." + part({"sub": sys.argv[1], "scope": sys.argv[2]}) + ".")' "$1" "$2"
}
fuzz() {
  .venv-fuzz/bin/schemathesis run docs/openapi.yaml \
    --url "$url" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection \
    --phases examples,coverage,fuzzing \
    --seed "$seed" \
    --workers 1 \
    --request-timeout 10 \
    --suppress-health-check all \
    --report junit,vcr --report-dir target/fuzz \
    "$@"
}
# Every operation but the two that erase: once the fuzzer's identity is being erased (and a
# generated user id can be its own), every other route answers it 410, whatever the request.
fuzz --header "Authorization: Bearer $(token fuzzer 'analytics:read')" \
  --exclude-operation-id eraseMe --exclude-operation-id eraseUser --max-time "$seconds"
fuzzed=$?
# Then the erasure routes, as an operator of their own: they answer an erased identity too.
if [ "$fuzzed" -eq 0 ]; then
  fuzz --header "Authorization: Bearer $(token fuzzer-operator 'users:erase')" \
    --include-operation-id eraseMe --include-operation-id myErasure \
    --include-operation-id eraseUser --include-operation-id userErasure --max-time 30
  fuzzed=$?
fi

kill -INT "$pid"
trap - EXIT
stopped=0
wait "$pid" || stopped=$?
if [ "$fuzzed" -ne 0 ]; then echo "the fuzzer found failures (seed $seed); see above and target/fuzz/"; exit 1; fi
if [ "$stopped" -ne 0 ]; then tail -20 "$log"; echo "the stack exited with $stopped on Ctrl-C"; exit 1; fi
grep -q '^Stopped.$' "$log" || { tail -20 "$log"; echo "no clean stop of the stack"; exit 1; }
echo "fuzzing passed (seed $seed)"

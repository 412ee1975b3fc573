#!/usr/bin/env bash
# Deployability checks, run by CI after the tests: the SAM template validates and lints, and
# `sam build` (driving cargo-lambda) produces an arm64 `bootstrap` for every function.
# Needs only python3 and the Rust toolchain: SAM CLI and cfn-lint are installed, pinned, into
# .venv-sam; cargo-lambda comes from the tests' .venv (installed by the test harness, or here).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0
# SAM CLI wants credentials even offline; these reach no account.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-offline} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-offline}

source scripts/python-venv.sh
python_venv .venv-sam tests/requirements-sam.txt
python_venv .venv tests/requirements.txt
export PATH="$PWD/.venv/bin:$PATH"

echo "==> sam validate --lint"
.venv-sam/bin/sam validate --lint --template-file template.yaml
echo "==> cfn-lint"
.venv-sam/bin/cfn-lint template.yaml

# sam build runs `cargo lambda build --release --arm64 --bin <Binary>` once per function, one
# after another, and each links its whole program with fat LTO on one core. The same command
# for every binary at once links two at a time on a 2-core machine; sam build then finds each
# binary fresh and copies it: the same flags, and the same features, since without `-p` cargo
# resolves features over the workspace's default members whatever `--bin` selects; so the
# same bytes. The binaries are the template's `BuildProperties: Binary`.
binaries=$(sed -n 's/^ *Binary: *["'"'"']\{0,1\}\([A-Za-z0-9_-]*\).*/\1/p' template.yaml)
if [ -z "$binaries" ]; then
  echo "FAIL: template.yaml names no BuildProperties Binary"; exit 1
fi
echo "==> cargo lambda build (arm64) of $(echo $binaries | wc -w) functions in one cargo run"
started=$(date +%s)
cargo lambda build --release --arm64 $(printf -- '--bin %s ' $binaries)
echo "cargo lambda build took $(( $(date +%s) - started )) s"

echo "==> sam build (arm64, cargo-lambda)"
started=$(date +%s)
.venv-sam/bin/sam build --build-in-source --template-file template.yaml
echo "sam build took $(( $(date +%s) - started )) s"

status=0
for function in ApiFunction ConsumerFunction RelayFunction RebuildCoordinatorFunction RebuildWorkerFunction EraserFunction; do
  bootstrap=.aws-sam/build/$function/bootstrap
  if [ ! -f "$bootstrap" ]; then
    echo "FAIL: $bootstrap is missing"; status=1; continue
  fi
  # ELF header: e_machine (bytes 18-19, little endian) is 0xB7 for AArch64.
  machine=$(od -An -tx1 -j18 -N2 "$bootstrap" | tr -d ' \n')
  size=$(stat -c %s "$bootstrap")
  if [ "$machine" != "b700" ]; then
    echo "FAIL: $bootstrap is not an arm64 executable (e_machine $machine)"; status=1
  else
    echo "ok: $function bootstrap is arm64, $size bytes"
  fi
done
exit "$status"

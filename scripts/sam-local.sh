#!/usr/bin/env bash
# `sam local` on the arm64 bootstraps that `sam build` made (.aws-sam/build), on any Linux machine
# with the Rust toolchain and python3, with or without access to a container registry.
#
#   bash scripts/sam-local.sh            # prepare, then run the sam_local checks; stop what it started
#   bash scripts/sam-local.sh prepare    # prepare only (Docker, emulation, the image)
#   bash scripts/sam-local.sh up         # prepare, then the local stack on moto for SAM's functions
#   bash scripts/sam-local.sh down       # stop what `prepare` and `up` started
#
# `up` runs `taskpulse serve --backend moto` with moto on the Docker bridge's address (where the
# containers reach it and other machines do not) and writes the `--env-vars` file with the
# template's resources on it, then prints the `sam local` commands that use them. Functions run
# by SAM and the local stack then share the tables and queues: events the API function emits
# under `sam local start-api` are counted by the stack's consumer.
#
# What "prepare" does, each step a no-op where it is not needed:
#   1. a Docker engine: uses the one that answers; else installs Debian's docker.io if dockerd is
#      missing and starts dockerd in the background, without the userland proxy (see
#      ensure_docker), stopped by `down` or at the end of a check;
#   2. arm64 emulation when the host is not arm64: Debian's qemu-user-static and binfmt-support,
#      registered with binfmt_misc (the functions deploy as arm64, and these are those bootstraps);
#   3. the invocation image: SAM pulls `public.ecr.aws/lambda/provided:al2023` itself where a
#      registry answers, and this script then uses it. Where none answers, it builds a STAND-IN
#      with the same role from Debian's arm64 packages (the C runtime the bootstraps link, a CA
#      bundle, busybox for the `mv`/`chmod` of SAM's image build) and tags it
#      `taskpulse-standin/provided-al2023:arm64`. The stand-in is not Amazon Linux: it only runs
#      a `provided` runtime bootstrap as Lambda does.
# The checks (`cargo test --test integration sam_local:: -- --ignored`) then start moto on the
# Docker bridge's gateway address (never on all interfaces) with the resources of template.yaml,
# and drive `sam local start-lambda`, `sam local invoke` and `sam local start-api` against it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0
# SAM CLI wants credentials even offline; these reach no account (the functions talk to moto).
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-offline} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-offline}

STATE=target/sam-local
OFFICIAL_IMAGE=public.ecr.aws/lambda/provided:al2023-arm64
STANDIN_IMAGE=taskpulse-standin/provided-al2023:arm64
DOCKER_WAIT_SECONDS=60
mkdir -p "$STATE"
STATE_DIR=$(cd "$STATE" && pwd)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_update_once() {
  if [ ! -f "$STATE/apt-updated" ]; then as_root apt-get update -qq; touch "$STATE/apt-updated"; fi
}
apt_install() {
  apt_update_once
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }
docker_answers() { timeout 10 docker info >/dev/null 2>&1; }

ensure_docker() {
  if docker_answers; then echo "docker: an engine answers"; return; fi
  local started; started=$(date +%s)
  if ! command -v dockerd >/dev/null; then apt_install docker.io; fi
  echo "docker: starting dockerd (log: $STATE/dockerd.log)"
  # Without the userland proxy, a published port refuses connections until the process in the
  # container listens. SAM takes an accepted connection as "the runtime emulator is up" and
  # then sends the invocation; docker-proxy accepts at once, and an invocation sent before the
  # emulator (slow to start under arm64 emulation) listens is lost: "No response from invoke
  # container", "timed out after 10 seconds".
  rm -f "$STATE/dockerd.pid"
  as_root dockerd --host unix:///var/run/docker.sock --userland-proxy=false \
    --pidfile "$STATE_DIR/dockerd.pid" >"$STATE/dockerd.log" 2>&1 &
  for _ in $(seq 1 $(( DOCKER_WAIT_SECONDS * 2 ))); do
    if docker_answers; then echo "docker: ready after $(elapsed "$started")"; return; fi
    sleep 0.5
  done
  echo "docker: dockerd did not answer within ${DOCKER_WAIT_SECONDS} s:"; tail -20 "$STATE/dockerd.log"
  exit 1
}

ensure_arm64_emulation() {
  case "$(uname -m)" in aarch64|arm64) echo "arm64: native"; return ;; esac
  local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
  # The F flag: the interpreter is opened when registered, so it works inside containers too.
  if [ -f "$entry" ] && grep -q '^enabled' "$entry" && grep -q '^flags:.*F' "$entry"; then
    echo "arm64: qemu already registered"; return
  fi
  local started; started=$(date +%s)
  if [ ! -x /usr/bin/qemu-aarch64-static ] || ! command -v update-binfmts >/dev/null; then
    apt_install qemu-user-static binfmt-support
  fi
  if [ ! -f /proc/sys/fs/binfmt_misc/register ]; then
    as_root mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  as_root update-binfmts --enable qemu-aarch64
  if ! { grep -q '^enabled' "$entry" && grep -q '^flags:.*F' "$entry"; }; then
    echo "arm64: qemu is not registered with the F flag in $entry:"; cat "$entry" 2>/dev/null
    exit 1
  fi
  echo "arm64: qemu registered in $(elapsed "$started")"
}

build_standin_image() {
  local started work root deb
  started=$(date +%s); work="$STATE/standin"; root="$work/root"
  rm -rf "$work" && mkdir -p "$work/debs" "$root"
  if [ "$(dpkg --print-architecture)" != arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    as_root dpkg --add-architecture arm64
    rm -f "$STATE/apt-updated"
  fi
  apt_update_once
  # The C runtime the bootstraps link, and busybox for the `mv`/`chmod` of SAM's image build.
  (cd "$work/debs" && apt-get download -qq libc6:arm64 libgcc-s1:arm64 busybox-static:arm64)
  for package in libc6 libgcc-s1 busybox-static; do
    if ! ls "$work"/debs/"${package}"_*_arm64.deb >/dev/null 2>&1; then
      echo "image: apt-get download gave no $package:arm64"; exit 1
    fi
  done
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
  mkdir -p "$root/bin" "$root/etc/ssl/certs" "$root/var/task" "$root/var/runtime" "$root/opt" "$root/tmp"
  chmod 1777 "$root/tmp"
  for tool in sh mv chmod cp rm ls cat; do ln -sf busybox "$root/bin/$tool"; done
  # The CA bundle is architecture-independent: the host's, as the official image carries its own.
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  ln -sf certs/ca-certificates.crt "$root/etc/ssl/cert.pem"
  tar -C "$root" -c . | docker import --platform linux/arm64 \
    --change 'ENV LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin' \
    --change 'WORKDIR /var/task' \
    --message "stand-in for $OFFICIAL_IMAGE: Debian arm64 C runtime, CA bundle, busybox" \
    - "$STANDIN_IMAGE" >/dev/null
  echo "image: built $STANDIN_IMAGE in $(elapsed "$started")"
}

# Writes the image to invoke with to $STATE/image: the official one where it is here or can be
# pulled, else the stand-in (built once, then reused; remove it to try pulling again).
ensure_invocation_image() {
  local image
  if docker image inspect "$OFFICIAL_IMAGE" >/dev/null 2>&1; then
    image=$OFFICIAL_IMAGE
  elif docker image inspect "$STANDIN_IMAGE" >/dev/null 2>&1; then
    image=$STANDIN_IMAGE
  elif timeout 60 docker pull --platform linux/arm64 "$OFFICIAL_IMAGE" >/dev/null 2>&1; then
    image=$OFFICIAL_IMAGE
  else
    echo "image: $OFFICIAL_IMAGE cannot be pulled here; building the stand-in"
    build_standin_image
    image=$STANDIN_IMAGE
  fi
  echo "$image" >"$STATE/image"
  echo "image: $image"
}

# The default bridge's address on the host (docker0's), which its containers reach as their gateway.
docker_gateway() {
  local bridge gateway
  bridge=$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}')
  gateway=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
  if [ -z "$gateway" ]; then
    gateway=$(ip -4 -o addr show dev "${bridge:-docker0}" | awk '{ split($4, a, "/"); print a[1]; exit }')
  fi
  if [ -z "$gateway" ]; then echo "no address on Docker's bridge ${bridge:-docker0}" >&2; exit 1; fi
  echo "$gateway"
}

prepare() {
  ensure_docker
  ensure_arm64_emulation
  ensure_invocation_image
  docker_gateway >"$STATE/gateway"
  echo "gateway: $(cat "$STATE/gateway") (moto binds here, reachable from the containers only)"
}

up() {
  # Whatever started is stopped again if `up` fails half way.
  trap down EXIT
  prepare
  source scripts/python-venv.sh
  python_venv .venv-sam tests/requirements-sam.txt
  local gateway image env_vars="$STATE/env-vars.json" started options
  gateway=$(cat "$STATE/gateway"); image=$(cat "$STATE/image"); started=$(date +%s)
  rm -f "$env_vars"
  cargo run --quiet -- serve --backend moto --moto-host "$gateway" --sam-env-vars "$env_vars" \
    --port 0 >"$STATE/stack.log" 2>&1 &
  echo $! >"$STATE/stack.pid"
  # The first run compiles the stack and installs moto: minutes, not more than fifteen.
  while [ ! -s "$env_vars" ]; do
    if ! kill -0 "$(cat "$STATE/stack.pid")" 2>/dev/null || [ $(( $(date +%s) - started )) -gt 900 ]; then
      echo "the local stack did not start:"; tail -20 "$STATE/stack.log"; exit 1
    fi
    sleep 1
  done
  sleep 1
  grep -m1 "http://127.0.0.1" "$STATE/stack.log" || true
  options="--env-vars $env_vars --parameter-overrides JwtIssuer=https://issuer.invalid JwtAudience=local"
  if [ "$image" != "$OFFICIAL_IMAGE" ]; then
    options="--invoke-image $image --skip-pull-image $options"
  fi
  echo "moto on $gateway (log: $STATE/stack.log); variables for sam local: $env_vars"
  echo "Now, after \`sam build\` (bash scripts/deploy-checks.sh):"
  echo "  .venv-sam/bin/sam local invoke ApiFunction -e events/api-create-task.json $options"
  echo "  .venv-sam/bin/sam local start-api --port 3001 $options"
  echo "Stop with: bash scripts/sam-local.sh down"
  trap - EXIT
}

# Whether `pid` (from a pid file) is still the process `name`, not a recycled pid.
is_process() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
wait_gone() { for _ in $(seq 1 80); do [ -d "/proc/$1" ] || return 0; sleep 0.25; done; }

down() {
  if [ -f "$STATE/stack.pid" ]; then
    local stack; stack=$(cat "$STATE/stack.pid")
    if is_process "$stack" taskpulse; then
      kill -INT "$stack" 2>/dev/null || true
      wait_gone "$stack"
      echo "stack: stopped"
    fi
    rm -f "$STATE/stack.pid"
  fi
  if [ -f "$STATE/dockerd.pid" ]; then
    local pid; pid=$(cat "$STATE/dockerd.pid")
    if is_process "$pid" dockerd; then
      # Containers SAM left behind go with the engine that ran them.
      docker ps -q --filter label=sam.cli.container.type | xargs -r docker rm -f >/dev/null 2>&1 || true
      as_root kill "$pid" 2>/dev/null || true
      wait_gone "$pid"
      echo "docker: stopped the dockerd this script started"
    fi
    as_root rm -f "$STATE/dockerd.pid"
  fi
}

check() {
  if [ ! -f .aws-sam/build/template.yaml ]; then
    echo "no .aws-sam/build: run scripts/deploy-checks.sh (sam build) first"; exit 1
  fi
  local started; started=$(date +%s)
  trap down EXIT
  prepare
  echo "prepared in $(elapsed "$started")"
  source scripts/python-venv.sh
  python_venv .venv-sam tests/requirements-sam.txt
  TASKPULSE_SAM_IMAGE=$(cat "$STATE/image") TASKPULSE_DOCKER_GATEWAY=$(cat "$STATE/gateway") \
    cargo test --test integration sam_local:: -- --ignored --test-threads=1
  echo "sam local checks took $(elapsed "$started") in all"
}

case "${1:-check}" in
  prepare) prepare ;;
  up) up ;;
  down) down ;;
  check) check ;;
  *) echo "usage: $0 [check|prepare|up|down]"; exit 2 ;;
esac

#!/usr/bin/env bash
# The one test command. On a fresh Debian 12 machine (as root) it installs what is missing,
# starts a private Docker engine if none is reachable, makes the base image, runs the whole
# suite and stops what it started, by PID, even when the tests fail. On a machine that already
# runs Docker it just runs the tests against that engine.
#
#   tests/run.sh                 # everything
#   tests/run.sh -- engine_      # extra args go to `cargo test`
set -euo pipefail

cd "$(dirname "$0")/.."
state=${CCTUI_TEST_STATE:-/var/lib/cctui-test}
sock="$state/docker.sock"
started_pid=""

log() { printf '[tests/run.sh] %s\n' "$*" >&2; }

# shellcheck disable=SC2317  # called from the EXIT trap
stop_engine() {
  if [[ -n $started_pid ]]; then
    log "stopping the engine this script started (pid $started_pid)"
    kill "$started_pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$started_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$started_pid" 2>/dev/null || true
  fi
}
engine2_started=""
# shellcheck disable=SC2317  # the EXIT trap
stop_engines() {
  if [[ -n $engine2_started ]]; then
    tests/engines.sh stop || log "stopping the second engine failed; stopping the first anyway"
  fi
  stop_engine
}
trap stop_engines EXIT

# Engines a run starts are marked with its pid ($state/owner); a later run adopts (and stops)
# those whose run was killed, and leaves engines it did not start (a developer's) alone.
owner_gone() { [[ -f $1 ]] && ! kill -0 "$(cat "$1")" 2>/dev/null; }

install_missing() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v tmux >/dev/null || missing+=(tmux)
  command -v ip >/dev/null || missing+=(iproute2)
  # tests/engines.rs: the second engine's TLS certificates and its ssh:// endpoint.
  command -v openssl >/dev/null || missing+=(openssl)
  [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
  # tests/clipboard.rs: a real X clipboard (Xvfb) and an owner for it (xclip).
  command -v Xvfb >/dev/null || missing+=(xvfb)
  command -v xclip >/dev/null || missing+=(xclip)
  if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
      log "missing: ${missing[*]}; run as root, or install them first"
      exit 1
    fi
    log "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

engine_up() { timeout 10 docker info >/dev/null 2>&1; }

start_engine() {
  if [[ -z ${DOCKER_HOST:-} ]] && engine_up; then
    # The tests (tests/engines_kit among them) read the first engine from DOCKER_HOST.
    DOCKER_HOST=$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null) \
      || DOCKER_HOST=unix:///var/run/docker.sock
    export DOCKER_HOST
    log "using the engine already running ($DOCKER_HOST)"
    return
  fi
  if [[ -n ${DOCKER_HOST:-} ]] && engine_up; then
    log "using DOCKER_HOST=$DOCKER_HOST"
    return
  fi
  export DOCKER_HOST="unix://$sock"
  if engine_up; then
    if owner_gone "$state/owner" && [[ -f $state/dockerd.pid ]]; then
      started_pid=$(cat "$state/dockerd.pid")
      echo $$ >"$state/owner"
      log "adopting the test engine a killed run left (pid $started_pid); it stops at the end"
    else
      log "using the test engine at $sock"
    fi
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "no Docker engine is reachable and starting one needs root"
    exit 1
  fi
  mkdir -p "$state"
  log "starting dockerd (data root $state/data, socket $sock)"
  dockerd --data-root "$state/data" --exec-root "$state/exec" -H "unix://$sock" \
    --pidfile "$state/dockerd.pid" >"$state/dockerd.log" 2>&1 &
  started_pid=$!
  echo $$ >"$state/owner"
  for _ in $(seq 1 60); do
    engine_up && break
    kill -0 "$started_pid" 2>/dev/null || { tail -20 "$state/dockerd.log" >&2; exit 1; }
    sleep 0.5
  done
  engine_up || { log "dockerd did not answer in 30 s"; tail -20 "$state/dockerd.log" >&2; exit 1; }
}

ensure_base_image() {
  local base=debian:bookworm-slim
  docker image inspect "$base" >/dev/null 2>&1 && return
  if timeout 60 docker pull -q "$base" >/dev/null 2>&1; then return; fi
  log "$base cannot be pulled; making it with debootstrap (about a minute)"
  local dir
  dir=$(mktemp -d /var/tmp/cctui-rootfs.XXXXXX)
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$state/debootstrap.log" 2>&1 \
    || { tail -20 "$state/debootstrap.log" >&2; exit 1; }
  rm -f "$dir/etc/apt/sources.list"
  cat >"$dir/etc/apt/sources.list.d/debian.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$dir"
}

# The host's extra CAs (a TLS-intercepting proxy sits in front of the registries here) go into
# the images through cctui's own extra_ca_certs feature; the tests read this variable.
host_extra_cas() {
  local cas=()
  for f in /usr/local/share/ca-certificates/*.crt; do [[ -f $f ]] && cas+=("$f"); done
  (IFS=:; echo "${cas[*]:-}")
}

mkdir -p "$state"
install_missing
start_engine
ensure_base_image
export CCTUI_TEST_EXTRA_CA_CERTS="${CCTUI_TEST_EXTRA_CA_CERTS:-$(host_extra_cas)}"
log "engine: ${DOCKER_HOST:-default socket}; extra CAs: ${CCTUI_TEST_EXTRA_CA_CERTS:-none}"

# Everything the suite makes carries cctui.test=<run id>; remove what is left, one at a time
# (bulk concurrent removals deadlock Debian's engine 20.10).
sweep() {
  local run=$1
  for id in $(docker ps -aq --filter "label=cctui.test=$run"); do timeout 60 docker rm -f "$id" >/dev/null 2>&1 || true; done
  for id in $(docker network ls -q --filter "label=cctui.test=$run"); do timeout 60 docker network rm "$id" >/dev/null 2>&1 || true; done
  for v in $(docker volume ls -q --filter "label=cctui.test=$run"); do timeout 60 docker volume rm "$v" >/dev/null 2>&1 || true; done
  for i in $(docker images -q --filter "label=cctui.test=$run" | sort -u); do timeout 60 docker rmi -f "$i" >/dev/null 2>&1 || true; done
}

CCTUI_TEST_RUN="r$(date +%s)"
export CCTUI_TEST_RUN
# Tests must never read or write the user's own cctui folders.
scratch=$(mktemp -d /tmp/cctui-test-home.XXXXXX)
export CCTUI_CONFIG_DIR="$scratch/config" CCTUI_STATE_DIR="$scratch/state"

# The images the suite builds (the full recipe for uid 1000, the small test recipe with the
# python profile for uid 1234), built here first with cctui itself; they are cached across
# runs, so this is quick when nothing changed. cctui cancels a build that prints nothing for
# image.build_stall_secs, naming the step; such a stall (a download stuck behind the proxy)
# is retried once here, so that it neither hangs the run nor fails the tests that need it.
build_retrying_a_stall() {
  local out
  for attempt in 1 2; do
    if out=$("${CARGO_TARGET_DIR:-target}/debug/cctui" build "$@" 2>&1); then
      # The small recipe's base and holder images, for tests/engines.sh to copy into the
      # second engine.
      [[ -n ${record_tags:-} ]] && printf '%s\n' "$out" \
        | sed -n -E 's/^\[(base|net)\] (built )?([^ ]+:[^ ]+)( \(cached\))?$/\3/p' >>"$state/prebuilt-images"
      return 0
    fi
    if [[ $attempt == 1 && $out == *"stalled: no output"* ]]; then
      printf '%s\n' "$out" | tail -4 >&2
      log "that build stalled; retrying it once"
      continue
    fi
    printf '%s\n' "$out" | tail -20 >&2
    return 1
  done
}
prebuild_images() {
  local dir=$scratch/prebuild ca_list="" f
  for f in ${CCTUI_TEST_EXTRA_CA_CERTS//:/ }; do ca_list+="${ca_list:+, }\"$f\""; done
  mkdir -p "$dir/full" "$dir/small" "$dir/p1000" "$dir/p1234"
  chown 1000:1000 "$dir/p1000"
  chown 1234:1234 "$dir/p1234"
  cp -r tests/fixtures/small-recipe/recipe "$dir/small/recipe"
  for c in full small; do printf '[image]\nextra_ca_certs = [%s]\n' "$ca_list" >"$dir/$c/config.toml"; done
  log "building (or finding) the test images"
  : >"$state/prebuilt-images"
  cargo build --locked --quiet
  CCTUI_CONFIG_DIR=$dir/full build_retrying_a_stall --path "$dir/p1000" \
    && CCTUI_CONFIG_DIR=$dir/small record_tags=1 build_retrying_a_stall --path "$dir/p1234" --profile python
}

[[ ${1:-} == -- ]] && shift
status=0
prebuild_images || { log "the test images do not build"; rm -rf "$scratch"; exit 1; }
# The second engine (unix socket, tcp+TLS, ssh://) for the tests of several engines. It
# needs root; without it those tests fail, saying so.
if [[ $(id -u) -eq 0 ]]; then
  if [[ ! -f /var/lib/cctui-test2/env ]] || owner_gone /var/lib/cctui-test2/owner; then
    engine2_started=1
  fi
  # The images the second engines copy from the first (tests/engines.sh, tests/engines_kit).
  export CCTUI_TEST_PREBUILT_IMAGES="$state/prebuilt-images"
  tests/engines.sh start
  [[ -n $engine2_started ]] && echo $$ >/var/lib/cctui-test2/owner
  set -a
  # shellcheck source=/dev/null
  . /var/lib/cctui-test2/env
  set +a
else
  log "not root: no second engine; the tests of several engines will fail saying so"
fi
cargo test --locked --no-fail-fast -- "$@" || status=$?
log "removing what run $CCTUI_TEST_RUN left behind"
sweep "$CCTUI_TEST_RUN"
[[ -n ${CCTUI_TEST_ENGINE2_SOCK:-} ]] && DOCKER_HOST=$CCTUI_TEST_ENGINE2_SOCK sweep "$CCTUI_TEST_RUN"
rm -rf "$scratch"
exit $status

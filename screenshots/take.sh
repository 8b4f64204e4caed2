#!/usr/bin/env bash
# Retakes the README screenshots: the real cctui, on a real Docker engine, with real Claude Code
# in a few demo sessions, driven in tmux and rendered to PNG.
#
#   screenshots/take.sh                     # build cctui (release), take every shot
#   CCTUI_BIN=target/debug/cctui screenshots/take.sh
#
# Environment:
#   DOCKER_HOST     the engine (default: the docker CLI's default, else the test engine's socket)
#   CCTUI_BIN       use this cctui instead of building one
#   SHOTS_PROFILE   toolchain profile for the `webapp` session (default python; empty: none)
#   SHOTS_COLS/ROWS terminal size (default 150x42)
#   SHOTS_FONT_SIZE font size of the PNGs in pixels (default 16: about 1530x900 at 150x42)
#   SHOTS_KEEP=1    keep the raw tmux captures (*.ansi) next to the PNGs
#   SHOTS_ALLOW_OTHERS=1  go on although other cctui sessions exist on the engine (the dashboard
#                   lists every session, so they would appear in the pictures)
#   SHOTS_WORK      the scratch folder (default /tmp/cctui-demo; its path shows in the shots)
#   SHOTS_PAUSE=1   debugging: wait before cleaning up until $SHOTS_WORK/resume exists
#
# Files: screenshots/{dashboard,waiting,queue,logs,firewall,info,help,new-session,attach}.png
#
# It makes, and removes again at the end (even on failure): four sessions (webapp, api, api-2,
# scratch) with their containers, networks and volumes; a private network and a small fake
# Messages API container (demo-api.js) that the sessions' claude talks to, with a fake key.
# Every network involved is --internal, so nothing the sessions do can leave the machine.
# Also: project folders, config and state under $SHOTS_WORK; a private tmux server. It never
# reads or writes your own cctui config.
# Images that cctui builds (the full recipe, the python layer) are kept as cctui's cache.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
COLS=${SHOTS_COLS:-150}
ROWS=${SHOTS_ROWS:-42}
PROFILE=${SHOTS_PROFILE-python}
AGENT_UID=${SHOTS_UID:-1000}
SESSIONS=(webapp api api-2 scratch)
NET=cctui-shots-net
API=cctui-shots-api
started=$SECONDS

log() { printf '[screenshots %3ds] %s\n' "$((SECONDS - started))" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- tools ---------------------------------------------------------------------------------------
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3 || true)
have_py_mods() { [[ -n $PY ]] && "$PY" -c 'import PIL, fontTools' 2>/dev/null; }
missing=()
command -v tmux >/dev/null || missing+=(tmux)
command -v docker >/dev/null || missing+=(docker.io)
[[ -n $PY ]] || missing+=(python3)
have_py_mods || missing+=(python3-pil python3-fonttools)
fc_has() { [[ -n $(find /usr/share/fonts -name "$1" 2>/dev/null | head -1) ]]; }
fc_has DejaVuSansMono.ttf || missing+=(fonts-dejavu-core)
fc_has 'Symbola*.ttf' || missing+=(fonts-symbola)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    die "missing: ${missing[*]}; install them (Debian: apt-get install ${missing[*]}) or run as root"
  fi
  log "installing what is missing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  PY=/usr/bin/python3
  have_py_mods || die "python3 cannot import PIL and fontTools"
fi

# --- engine ----------------------------------------------------------------------------------------
if [[ -z ${DOCKER_HOST:-} ]] && ! timeout 10 docker info >/dev/null 2>&1 \
  && [[ -S /var/lib/cctui-test/docker.sock ]]; then
  DOCKER_HOST=unix:///var/lib/cctui-test/docker.sock
fi
[[ -n ${DOCKER_HOST:-} ]] && export DOCKER_HOST
timeout 10 docker info >/dev/null 2>&1 || die "no Docker engine at ${DOCKER_HOST:-the default socket}"
log "engine: ${DOCKER_HOST:-default socket}"

for s in "${SESSIONS[@]}"; do
  if [[ -n $(docker ps -aq --filter "name=^cctui-$s(-net)?\$") ]]; then
    die "a session or container named cctui-$s already exists on this engine; remove it first (cctui rm $s)"
  fi
done
[[ -z $(docker ps -aq --filter "name=^$API\$") ]] || die "container $API exists (left from an earlier run?): docker rm -f $API"
for n in "$NET" "${SESSIONS[@]/#/cctui-}"; do
  [[ -z $(docker network ls -q --filter "name=^$n\$") ]] || die "network $n exists (left from an earlier run?): docker network rm $n"
done
# The dashboard lists every session on the engine: others would show up in the pictures.
others=$(docker ps -a --filter label=cctui.session --format '{{.Label "cctui.session"}}' | sort -u | tr '\n' ' ')
if [[ -n $others ]]; then
  [[ ${SHOTS_ALLOW_OTHERS:-} == 1 ]] || die "other cctui sessions on this engine would appear in the \
screenshots: $others; remove them, use another engine (DOCKER_HOST), or set SHOTS_ALLOW_OTHERS=1"
  log "warning: other cctui sessions on this engine will appear in the shots: $others"
fi

# --- cctui -----------------------------------------------------------------------------------------
if [[ -n ${CCTUI_BIN:-} ]]; then
  bin=$(cd "$root" && realpath "$CCTUI_BIN")
else
  log "building cctui (cargo build --release)"
  (cd "$root" && cargo build --release --quiet)
  bin=${CARGO_TARGET_DIR:-$root/target}/release/cctui
fi
[[ -x $bin ]] || die "no cctui binary at $bin"
log "cctui: $bin"

# --- scratch space -----------------------------------------------------------------------------------
# A fixed, short path: it shows in the screenshots (the list shortens it to ~ via HOME).
work=${SHOTS_WORK:-/tmp/cctui-demo}
if [[ -e $work ]]; then
  [[ -e $work/.cctui-shots ]] || die "$work exists and is not from this script; set SHOTS_WORK"
  rm -rf "$work"
fi
mkdir -p "$work"/{config,state,secrets,captures,code}
touch "$work/.cctui-shots"
sock=cctui-shots-$$
created=()

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [[ -n ${SHOTS_PAUSE:-} ]]; then
    log "paused before cleaning up (a debugging aid): touch $work/resume to go on"
    until [[ -e $work/resume ]]; do sleep 1; done
  fi
  log "cleaning up"
  tmux -L "$sock" kill-server 2>/dev/null
  for s in "${created[@]}"; do
    cc rm "$s" --volumes --yes >/dev/null 2>&1 || cc rm "$s" --yes >/dev/null 2>&1
  done
  # Volumes of a project shared by two sessions go with the first removal; sweep what is left.
  for v in $(docker volume ls -q 2>/dev/null); do
    case $(docker volume inspect -f '{{index .Labels "cctui.project"}}' "$v" 2>/dev/null) in
      "$work"/*) docker volume rm "$v" >/dev/null 2>&1 ;;
    esac
  done
  docker rm -f "$API" >/dev/null 2>&1
  for n in "$NET" "${SESSIONS[@]/#/cctui-}"; do docker network rm "$n" >/dev/null 2>&1; done
  rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$sock"
  rm -rf "$work"
  log "done in $((SECONDS - started)) s (exit $rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# cctui with the demo's own config and state; never a real key from the environment.
cc() {
  env -u ANTHROPIC_API_KEY -u CCTUI_CONFIG HOME="$work" CCTUI_CONFIG_DIR="$work/config" \
    CCTUI_STATE_DIR="$work/state" "$bin" "$@"
}

# Projects, owned by a normal user: the agent never runs as root.
mkdir -p "$work/code/webapp/app" "$work/code/webapp/tests" "$work/code/api/src" \
  "$work/code/scratch" "$work/code/infra" "$work/code/mobile"
printf 'from flask import Flask\n\napp = Flask(__name__)\n' >"$work/code/webapp/app/__init__.py"
printf 'from . import app\n\n\n@app.get("/")\ndef index():\n    return "hello"\n' >"$work/code/webapp/app/routes.py"
printf 'flask\npsycopg[binary]\n' >"$work/code/webapp/requirements.txt"
printf '# api\n\nThe backend service.\n' >"$work/code/api/README.md"
printf 'id,name,amount\n1,alpha,10\n2,beta,20\n' >"$work/code/scratch/sample.csv"
if [[ $(id -u) -eq 0 ]]; then
  chown -R "$AGENT_UID:$AGENT_UID" "$work/code"
fi

cas=()
for f in /usr/local/share/ca-certificates/*.crt; do [[ -f $f ]] && cas+=("\"$f\""); done
ca_list=$(IFS=,; echo "${cas[*]:-}")
# A fake key: the sessions' claude only ever talks to demo-api.js (through each session's
# credential broker, which forwards only over verified TLS: a throwaway CA for demo-api.test).
printf 'sk-ant-api03-demo-not-a-real-key\n' >"$work/secrets/anthropic_api_key"
chmod 600 "$work/secrets/anthropic_api_key"
mkdir -p "$work/tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tls/ca.key" -out "$work/tls/ca.pem" \
  -days 1 -subj "/CN=cctui screenshots CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/tls/key.pem" -out "$work/tls/req.csr" \
  -subj "/CN=demo-api.test" 2>/dev/null
printf 'subjectAltName=DNS:demo-api.test\nextendedKeyUsage=serverAuth\n' >"$work/tls/ext"
openssl x509 -req -in "$work/tls/req.csr" -CA "$work/tls/ca.pem" -CAkey "$work/tls/ca.key" \
  -CAcreateserial -out "$work/tls/cert.pem" -days 1 -extfile "$work/tls/ext" 2>/dev/null
chmod 0644 "$work/tls/cert.pem" "$work/tls/key.pem"

write_config() { # file, firewall mode, trust_workspace
  cat >"$1" <<EOF
[image]
extra_ca_certs = [$ca_list]

[session]
trust_workspace = $3

# claude's API is demo-api.js. Whatever else it would fetch at startup (update checks, plugin
# marketplaces, telemetry) is switched off or sent to a proxy that is not there.
[session.env]
$( [[ $2 == off ]] && echo 'ANTHROPIC_BASE_URL = "http://demo-api.test:8080"  # no holder, no broker' )
DISABLE_AUTOUPDATER = "1"
CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL = "1"
HTTPS_PROXY = "http://127.0.0.1:9"
HTTP_PROXY = "http://127.0.0.1:9"
https_proxy = "http://127.0.0.1:9"
http_proxy = "http://127.0.0.1:9"
NO_PROXY = "demo-api.test,127.0.0.1,localhost"
no_proxy = "demo-api.test,127.0.0.1,localhost"

[firewall]
mode = "$2"
presets = ["anthropic"]
allow = ["demo-api.test:8080"]

[secrets]
anthropic_api_key = { file = "$work/secrets/anthropic_api_key" }

[broker]
upstream = "https://demo-api.test:8443"
extra_ca_certs = ["$work/tls/ca.pem"]
EOF
}
write_config "$work/config/config.toml" on true
write_config "$work/config/untrusted.toml" on false
write_config "$work/config/open.toml" off true

# --- images and the fake API -------------------------------------------------------------------------
profile_args=()
[[ -n $PROFILE ]] && profile_args=(--profile "$PROFILE")
log "images (the full recipe with real Claude Code; built once, then cached)"
cc build --path "$work/code/webapp" "${profile_args[@]}" 2>&1 | sed 's/^/    /' >&2
base=$(cd "$work/code/webapp" && { cc doctor 2>/dev/null || true; } | { grep -o 'cctui-base:[0-9a-f]*' || true; } | head -1)
[[ -n $base ]] || die "cannot tell the base image's tag from cctui doctor"

log "fake Messages API ($API on $NET, from $base)"
docker network create --internal --label cctui-shots=1 "$NET" >/dev/null
docker run -d --name "$API" --label cctui-shots=1 --network "$NET" --network-alias demo-api.test \
  --user "$AGENT_UID:$AGENT_UID" --read-only --cap-drop ALL --security-opt no-new-privileges \
  --memory 256m -v "$here/demo-api.js:/demo-api.js:ro" -v "$work/tls:/tls:ro" \
  --entrypoint node "$base" /demo-api.js 8080 8443 /tls/cert.pem /tls/key.pem >/dev/null

# --- sessions --------------------------------------------------------------------------------------
# Each session's own network, made here first as --internal (cctui uses a network of that name
# if it exists): no route out at all, even for `scratch`, whose firewall is off.
for s in "${SESSIONS[@]}"; do
  docker network create --internal --label cctui-shots=1 "cctui-$s" >/dev/null
done
new_session() { # name, config file, args...
  local name=$1 cfg=$2
  shift 2
  log "cctui new $name"
  created+=("$name")
  cc --config "$cfg" new "$@" --network "$NET" 2>&1 | tail -1 | sed 's/^/    /' >&2
}
new_session webapp "$work/config/config.toml" "$work/code/webapp" "${profile_args[@]}"
new_session api "$work/config/untrusted.toml" "$work/code/api"
new_session api-2 "$work/config/config.toml" "$work/code/api" --name api-2
new_session scratch "$work/config/open.toml" "$work/code/scratch"
cc stop api-2

# A few refused attempts for the firewall tab. None leaves the machine: refused names are
# answered by the session's own resolver, and 192.0.2.0/24 is a documentation range.
cc exec webapp -- sh -c 'getent hosts registry.npmjs.org; getent hosts pypi.org;
  nc -z -w 2 192.0.2.10 443; getent hosts files.pythonhosted.org' >/dev/null 2>&1 || true

# --- the dashboard in tmux ---------------------------------------------------------------------------
T() { tmux -L "$sock" "$@"; }
T -f /dev/null new-session -d -s shots -x "$COLS" -y "$ROWS" -c "$work/code" \
  "exec env -u ANTHROPIC_API_KEY -u CCTUI_CONFIG -u NO_COLOR HOME='$work' CCTUI_CONFIG_DIR='$work/config' CCTUI_STATE_DIR='$work/state' DOCKER_HOST='${DOCKER_HOST:-}' COLORTERM=truecolor '$bin'"
# (Not window-size manual: with it, tmux 3.3a dies on the second new-session.)
T set -g default-size "${COLS}x$ROWS"
T set -g remain-on-exit on
T set -g status off

screen() { T capture-pane -p -t "${1:-shots}"; }
wait_for() { # description, seconds, extended regex, [tmux target]
  local end=$((SECONDS + $2))
  until screen "${4:-shots}" | grep -Eq -- "$3"; do
    if ((SECONDS >= end)); then
      log "timed out waiting for $1; the screen:"
      screen "${4:-shots}" >&2
      return 1
    fi
    sleep 0.5
  done
}
row() { printf '[▸ ] %s +[●○✖◌‖?]' "$1"; }
keys() { T send-keys -t shots "$@"; }
select_session() {
  keys g
  sleep 0.5
  for _ in $(seq 1 20); do
    screen | grep -q "▸ $1 " && return 0
    keys j
    sleep 0.5
  done
  screen >&2
  die "cannot select $1"
}
shot() { # file name, title, [tmux target]
  local f=$work/captures/$1.ansi end=$((SECONDS + 300)) warned=
  sleep "${SHOT_SETTLE:-1.5}"
  while :; do
    T capture-pane -e -p -t "${3:-shots}" >"$f"
    # Sessions made meanwhile by others (a test suite on the same engine) would be in the
    # picture: wait for them to go.
    [[ -n ${3:-} || ${SHOTS_ALLOW_OTHERS:-} == 1 ]] && break
    if sed 's/\x1b\[[0-9;:]*m//g' "$f" | grep -q "cctui ${#SESSIONS[@]} sessions,"; then
      [[ $warned != 1 ]] && break
      warned=2 # gone: let the screen settle, then take it again
      sleep "${SHOT_SETTLE:-1.5}"
      continue
    fi
    ((SECONDS < end)) || die "other sessions on the engine did not go away; set SHOTS_ALLOW_OTHERS=1?"
    [[ -n $warned ]] || log "other sessions appeared on the engine; waiting for them to go"
    warned=1
    sleep 2
  done
  "$PY" "$here/ansi2png.py" "$f" "$here/$1.png" --cols "$COLS" --rows "$ROWS" --title "$2" \
    --font-size "${SHOTS_FONT_SIZE:-16}"
  if [[ ${SHOTS_KEEP:-} == 1 ]]; then cp "$f" "$here/$1.ansi"; fi
  log "wrote screenshots/$1.png"
}
type_into() { # session, text: attach, type, send, detach
  select_session "$1"
  keys Enter
  sleep 1
  keys -l "$2"
  sleep 0.5
  keys Enter
  sleep 0.5
  T send-keys -t shots -H 1c # the detach key, ctrl-\
  sleep 0.5
}

log "dashboard"
wait_for "the sessions listed" 60 "$(row scratch)"
wait_for "webapp idle" 90 "$(row webapp).*idle"
wait_for "api waiting at the trust dialog" 90 "$(row api).*WAITING"

type_into webapp "How would you add a /healthz endpoint? Outline it first."
type_into scratch "The CSV import is slow. Profile it and find out why."
wait_for "scratch working" 60 "$(row scratch).*working"
select_session webapp
wait_for "the reply in webapp" 60 "Shall I go ahead"
wait_for "webapp idle again" 60 "$(row webapp).*idle"
wait_for "webapp's stats" 30 "mem [0-9]+ MiB"
shot dashboard "cctui"

select_session api
wait_for "the trust dialog" 30 "trust this folder"
shot waiting "cctui: waiting for you"

keys w # the attention queue: api waits at its trust dialog
wait_for "the queue" 10 "esc close"
shot queue "cctui: what needs you"
keys Escape
sleep 0.5

keys Tab # Logs, of api: Docker may not have logged any of webapp's claude output yet
for _ in $(seq 1 40); do screen | grep -q "no logs yet" || break; sleep 0.5; done
shot logs "cctui: logs"

select_session webapp
keys Tab # Firewall
wait_for "the firewall report" 30 "allowlist \("
shot firewall "cctui: firewall"
keys Tab # Changes
keys Tab # Info
wait_for "the session details" 30 "limits"
shot info "cctui: info"
keys Tab # back to Terminal

select_session webapp
keys '?'
wait_for "the help" 10 "any key closes this help"
shot help "cctui: keys"
keys Escape
sleep 0.5

keys n
wait_for "the new-session dialog" 10 "New session"
keys -l /
keys Tab
wait_for "folder completions" 10 "webapp"
shot new-session "cctui: new session"
keys Escape
sleep 0.5

log "cctui attach webapp"
T new-session -d -s attach -x "$COLS" -y "$ROWS" -c "$work/code" \
  "exec env -u ANTHROPIC_API_KEY -u CCTUI_CONFIG -u NO_COLOR HOME='$work' CCTUI_CONFIG_DIR='$work/config' CCTUI_STATE_DIR='$work/state' DOCKER_HOST='${DOCKER_HOST:-}' COLORTERM=truecolor '$bin' attach webapp"
wait_for "claude in the attached terminal" 30 "Shall I go ahead" attach
shot attach "cctui attach webapp" attach
T send-keys -t attach -H 1c

keys q

# What the sessions' claude tried to resolve: only the fake API should be there.
for s in webapp api; do
  names=$(docker exec "cctui-$s-net" sh -c 'cat /var/log/cctui/dns.log*' 2>/dev/null \
    | sed -n 's/.*query\[[A-Z]*\] \([^ ]*\) from.*/\1/p' | grep -v '^cctui-verify' | sort -u | tr '\n' ' ' || true)
  log "names looked up in $s: ${names:-none}"
done
log "shots: $(cd "$here" && printf '%s ' ./*.png)"

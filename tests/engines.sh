#!/usr/bin/env bash
# A second Docker engine for the tests of several engines (tests/engines.rs, the dashboard's
# engine tests), reached three ways: its unix socket, tcp://127.0.0.1 with TLS (certificates
# made here, the client's in Docker's cert_path layout), and ssh:// to an sshd on loopback
# whose sessions get DOCKER_HOST pointing at the socket. Run as root; tests/run.sh calls it.
#
#   tests/engines.sh start [IMAGE...]   # start (or find) it; copies the test images into it
#   tests/engines.sh stop               # stop what start started, remove its bridge and rules
#   tests/engines.sh env                # print the variables the tests read
#
# The second engine runs in a mount namespace of its own where local-only/ is an empty
# tmpfs: a folder made there exists here and not on "the engine's machine".
#
# The engine keeps its data root (/var/lib/cctui-test2/data) across runs, so the copied
# images stay. Its own bridge (cctui-br2) and address pool keep it off the first engine's
# docker0. It runs with --iptables=false: a second daemon managing iptables would flush the
# first one's DOCKER and isolation chains. The few rules its containers need (forwarding past
# the first daemon's FORWARD DROP policy, and NAT out) are added here, marked, and removed on
# stop.
set -euo pipefail

cd "$(dirname "$0")/.."
state=${CCTUI_TEST_ENGINE2_STATE:-/var/lib/cctui-test2}
# The first engine, where the test images come from.
first_host=${CCTUI_TEST_ENGINE1_HOST:-${DOCKER_HOST:-}}
if [[ -z $first_host ]]; then
  first_host=unix:///var/run/docker.sock
  [[ -S /var/lib/cctui-test/docker.sock ]] && first_host=unix:///var/lib/cctui-test/docker.sock
fi
tls_port=${CCTUI_TEST_ENGINE2_TLS_PORT:-23762}
ssh_port=${CCTUI_TEST_ENGINE2_SSH_PORT:-22022}
bridge=cctui-br2
bridge_cidr=10.199.0.1/24
bridge_net=10.199.0.0/24
pool=10.200.0.0/16
mark="cctui-test2"
sock=$state/docker.sock
certs=$state/certs
ssh_dir=$state/ssh
local_only=$state/local-only

log() { printf '[tests/engines.sh] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

engine2_up() { DOCKER_HOST="unix://$sock" timeout 10 docker info >/dev/null 2>&1; }

install_missing() {
  local missing=()
  command -v openssl >/dev/null || missing+=(openssl)
  [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
  command -v ssh >/dev/null || missing+=(openssh-client)
  ((${#missing[@]})) || return 0
  log "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A CA, a server certificate for 127.0.0.1/localhost, a client certificate (ca.pem, cert.pem,
# key.pem, as DOCKER_CERT_PATH), and a second client set signed by another CA, for the
# bad-certificate tests. Made once; kept across runs.
make_certs() {
  [[ -f $certs/client/key.pem && -f $certs/wrong/key.pem ]] && return
  rm -rf "$certs"
  mkdir -p "$certs/client" "$certs/wrong"
  (
    cd "$certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=cctui-test2-ca \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server-key.pem \
      -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -days 3650 -in server.csr -CA ca.pem -CAkey ca-key.pem \
      -CAcreateserial -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=cctui-test-client -keyout client/key.pem \
      -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -days 3650 -in client.csr -CA ca.pem -CAkey ca-key.pem \
      -CAcreateserial -extfile client.ext -out client/cert.pem 2>/dev/null
    cp ca.pem client/ca.pem
    # Another CA: its client certificate is refused by the engine and its ca.pem does not
    # vouch for the engine's server certificate.
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=cctui-test2-wrong-ca \
      -keyout wrong/ca-key.pem -out wrong/ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=cctui-test-wrong -keyout wrong/key.pem \
      -out wrong.csr 2>/dev/null
    openssl x509 -req -days 3650 -in wrong.csr -CA wrong/ca.pem -CAkey wrong/ca-key.pem \
      -CAcreateserial -extfile client.ext -out wrong/cert.pem 2>/dev/null
    rm -f wrong/ca-key.pem ./*.csr ./*.srl
    chmod 0600 ca-key.pem server-key.pem client/key.pem wrong/key.pem
  ) || die "making the TLS certificates failed"
}

bridge_up() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$bridge_cidr" dev "$bridge"
  fi
  ip link set "$bridge" up
}

# The first daemon set FORWARD's policy to DROP, and with br_netfilter bridged frames pass
# through FORWARD too: without these, containers on the second engine could reach neither each
# other nor the outside. (Traffic between two of its networks is let through as well: the
# second engine's networks are not isolated from each other by the host, only by cctui's
# holder, which is what the tests check.)
rules() {
  local op=$1 net uplink
  uplink=$(ip route show default | awk '{print $5; exit}')
  for net in "$bridge_net" "$pool"; do
    rule "$op" filter FORWARD -s "$net" -d "$net" -j ACCEPT
    [[ -n $uplink ]] && rule "$op" filter FORWARD -s "$net" -o "$uplink" -j ACCEPT
    rule "$op" filter FORWARD -d "$net" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    rule "$op" nat POSTROUTING -s "$net" ! -d "$net" -j MASQUERADE
  done
}
rule() {
  local op=$1 table=$2 chain=$3
  shift 3
  local spec=("$chain" "$@" -m comment --comment "$mark")
  if [[ $op == add ]]; then
    iptables -t "$table" -C "${spec[@]}" 2>/dev/null || iptables -t "$table" -I "${spec[@]}"
  else
    while iptables -t "$table" -C "${spec[@]}" 2>/dev/null; do iptables -t "$table" -D "${spec[@]}"; done
  fi
}

start_dockerd() {
  if engine2_up; then
    log "the second engine already answers at $sock"
    return
  fi
  mkdir -p "$state/data" "$state/exec"
  rm -f "$sock"
  # dockerd 20.10, restarted on a data root with --default-address-pool, deletes the host's
  # docker0 (the first engine's) unless --live-restore is on; and a data root that once ran
  # with the default bridge remembers docker0 as its own. Drop such a network store first.
  local had_docker0=no
  if ip link show docker0 >/dev/null 2>&1; then had_docker0=yes; fi
  local store=$state/data/network/files/local-kv.db
  if [[ -f $store ]] && grep -aq docker0 "$store"; then rm -f "$store"; fi
  log "starting the second dockerd (data root $state/data, socket $sock, tls port $tls_port)"
  # setsid: a dockerd started from a test's shell outlives it; stop finds it by its pidfile.
  # Its own mount namespace, with an empty tmpfs over $local_only: a folder made there here
  # is not on "the engine's machine", as on a remote engine (unshare and sh exec, so the pid
  # stays dockerd's).
  mkdir -p "$local_only"
  # shellcheck disable=SC2016  # $0 and $@ are the inner sh's
  setsid unshare --mount --propagation private \
    sh -c 'mount -t tmpfs -o size=1m,mode=0755 cctui-local-only "$0" && exec "$@"' "$local_only" \
    dockerd --data-root "$state/data" --exec-root "$state/exec" \
    --pidfile "$state/dockerd.pid" \
    -H "unix://$sock" -H "tcp://127.0.0.1:$tls_port" \
    --tlsverify --tlscacert "$certs/ca.pem" --tlscert "$certs/server-cert.pem" \
    --tlskey "$certs/server-key.pem" \
    --bridge "$bridge" --iptables=false --ip-masq=false --live-restore \
    --default-address-pool "base=$pool,size=24" \
    >"$state/dockerd.log" 2>&1 </dev/null &
  local pid=$!
  for _ in $(seq 1 60); do
    if engine2_up; then
      if [[ $had_docker0 == yes ]] && ! ip link show docker0 >/dev/null 2>&1; then
        die "starting the second dockerd deleted the first engine's docker0 (see $state/dockerd.log)"
      fi
      return
    fi
    kill -0 "$pid" 2>/dev/null || { tail -20 "$state/dockerd.log" >&2; die "the second dockerd exited"; }
    sleep 0.5
  done
  tail -20 "$state/dockerd.log" >&2
  die "the second dockerd did not answer in 30 s"
}

# sshd on loopback; its sessions reach the second engine through DOCKER_HOST, so bollard's ssh
# transport (`docker system dial-stdio` on the far side) lands there. The client side gets an
# ssh config (key, known hosts) and an `ssh` wrapper that uses it, so the tests never read or
# write the user's own ~/.ssh.
start_sshd() {
  mkdir -p "$ssh_dir/bin" /run/sshd
  chmod 0700 "$ssh_dir"
  [[ -f $ssh_dir/host_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C cctui-test2-host -f "$ssh_dir/host_ed25519"
  [[ -f $ssh_dir/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C cctui-test2-client -f "$ssh_dir/id_ed25519"
  cp "$ssh_dir/id_ed25519.pub" "$ssh_dir/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$ssh_port" "$(cut -d' ' -f1,2 "$ssh_dir/host_ed25519.pub")" >"$ssh_dir/known_hosts"
  cat >"$ssh_dir/sshd_config" <<EOF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $ssh_dir/host_ed25519
PidFile $ssh_dir/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
SetEnv DOCKER_HOST=unix://$sock
EOF
  cat >"$ssh_dir/ssh_config" <<EOF
Host 127.0.0.1
  Port $ssh_port
  User root
  IdentityFile $ssh_dir/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $ssh_dir/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
EOF
  printf '#!/bin/sh\n# ssh with the test engine'"'"'s config (key, known hosts), never ~/.ssh.\nexec /usr/bin/ssh -F %s "$@"\n' \
    "$ssh_dir/ssh_config" >"$ssh_dir/bin/ssh"
  chmod 0755 "$ssh_dir/bin/ssh"
  if [[ -f $ssh_dir/sshd.pid ]] && kill -0 "$(cat "$ssh_dir/sshd.pid")" 2>/dev/null; then
    kill "$(cat "$ssh_dir/sshd.pid")" 2>/dev/null || true
    sleep 0.3
  fi
  /usr/sbin/sshd -f "$ssh_dir/sshd_config" -E "$ssh_dir/sshd.log" || die "sshd did not start: $(tail -3 "$ssh_dir/sshd.log")"
  for _ in $(seq 1 20); do
    "$ssh_dir/bin/ssh" -p "$ssh_port" root@127.0.0.1 docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && return
    sleep 0.3
  done
  die "ssh://root@127.0.0.1:$ssh_port does not reach the second engine; see $ssh_dir/sshd.log"
}

# The base image, and the test images the first engine built (tests/run.sh lists them in
# /var/lib/cctui-test/prebuilt-images), plus any named on the command line.
copy_images() {
  local images=(debian:bookworm-slim "$@") list=${CCTUI_TEST_PREBUILT_IMAGES:-/var/lib/cctui-test/prebuilt-images}
  [[ -f $list ]] && mapfile -t -O "${#images[@]}" images < <(grep -v '^$' "$list")
  local missing=() image
  for image in "${images[@]}"; do
    DOCKER_HOST="unix://$sock" docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
  done
  ((${#missing[@]})) || return 0
  log "copying ${#missing[@]} image(s) from the first engine: ${missing[*]}"
  DOCKER_HOST="$first_host" docker save "${missing[@]}" | DOCKER_HOST="unix://$sock" docker load -q >/dev/null \
    || die "copying the images failed (are they on the first engine at $first_host?)"
}

write_env() {
  cat >"$state/env" <<EOF
CCTUI_TEST_ENGINE2_SOCK=unix://$sock
CCTUI_TEST_ENGINE2_TLS_HOST=tcp://127.0.0.1:$tls_port
CCTUI_TEST_ENGINE2_CERTS=$certs/client
CCTUI_TEST_ENGINE2_WRONG_CERTS=$certs/wrong
CCTUI_TEST_ENGINE2_SSH_HOST=ssh://root@127.0.0.1:$ssh_port
CCTUI_TEST_ENGINE2_SSH_KEY=$ssh_dir/id_ed25519
CCTUI_TEST_ENGINE2_SSH_BIN=$ssh_dir/bin
CCTUI_TEST_ENGINE2_PIDFILE=$state/dockerd.pid
CCTUI_TEST_ENGINE2_LOCAL_ONLY=$local_only
EOF
}

start() {
  [[ $(id -u) -eq 0 ]] || die "the second engine needs root (dockerd, a bridge, iptables, sshd)"
  mkdir -p "$state"
  install_missing
  make_certs
  bridge_up
  rules add
  start_dockerd
  start_sshd
  copy_images "$@"
  write_env
  log "ready: $(tr '\n' ' ' <"$state/env")"
}

stop_pidfile() {
  local file=$1 what=$2 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $what (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop() {
  stop_pidfile "$ssh_dir/sshd.pid" sshd
  # --live-restore keeps containers running past their daemon: remove them first, one at a
  # time (20.10 deadlocks on bulk removal).
  if engine2_up; then
    local id
    for id in $(DOCKER_HOST="unix://$sock" docker ps -aq); do
      DOCKER_HOST="unix://$sock" timeout 60 docker rm -f -v "$id" >/dev/null 2>&1 || true
    done
  fi
  stop_pidfile "$state/dockerd.pid" "the second dockerd"
  rules del
  if ip link show "$bridge" >/dev/null 2>&1; then ip link del "$bridge"; fi
  rm -f "$state/env"
}

case ${1:-} in
  start) shift; start "$@" ;;
  stop) stop ;;
  env) cat "$state/env" ;;
  *) die "usage: tests/engines.sh start [IMAGE...] | stop | env" ;;
esac

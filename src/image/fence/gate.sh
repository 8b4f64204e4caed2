#!/bin/sh
# cctui build gate: the only way out of a fenced image build. Its resolver answers the build
# allowlist's names with the gate's own address and nothing else (no upstream: an unlisted
# name is never sent on); nginx forwards TLS by SNI and HTTP by Host to those names only.
# $1: the gate's address on the fence network. Stdin: one "KEY PORT" a line, KEY a name or
# ".name" (the name and its subdomains), PORT 443 (TLS) or 80 (HTTP).
set -eu
gate=$1
d=/tmp/gate
mkdir -p "$d"
: >"$d/dns.conf"
tls=""
http=""
while read -r key port; do
  [ -n "$key" ] || continue
  printf 'address=/%s/%s\n' "${key#.}" "$gate" >>"$d/dns.conf"
  case $port in
    443) tls="$tls    $key \$ssl_preread_server_name:443;
" ;;
    80) http="$http    $key \$host;
" ;;
    *) echo "gate: port $port is not carried" >&2; exit 2 ;;
  esac
done
cat >"$d/nginx.conf" <<NGX
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 512; }
stream {
  resolver 127.0.0.11 ipv6=off valid=30s;
  map \$ssl_preread_server_name \$up {
    hostnames;
$tls    default refused;
  }
  log_format gate 'tls \$ssl_preread_server_name \$up';
  server {
    listen 443;
    ssl_preread on;
    access_log $d/access.log gate;
    proxy_pass \$up;
  }
  # Where refused TLS goes: closed at once.
  upstream refused { server 127.0.0.1:9; }
}
http {
  resolver 127.0.0.11 ipv6=off valid=30s;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  map \$host \$up {
    hostnames;
$http    default "";
  }
  # The request line's host (if any) must be the Host header's: the name checked is the
  # name the server sees.
  map "\$host \$http_host" \$same { "~*^(\\S+) \\1(:80)?\$" 1; default 0; }
  log_format gate 'http \$host \$status';
  server {
    listen 80 default_server;
    access_log $d/access.log gate;
    if (\$same = 0) { return 421; }
    if (\$up = "") { return 403; }
    location / {
      proxy_pass http://\$up\$request_uri;
      proxy_set_header Host \$host;
    }
  }
}
NGX
nginx -t -q -c "$d/nginx.conf"
dnsmasq --conf-file="$d/dns.conf" --no-resolv --no-hosts --no-poll --log-queries \
  --log-facility="$d/dns.log" --user="$(id -un)" --pid-file="$d/dnsmasq.pid"
nginx -c "$d/nginx.conf"
echo gate-up

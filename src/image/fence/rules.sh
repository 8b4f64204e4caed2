#!/bin/sh
# cctui build fence: the rules of the network namespace a fenced image build joins. The build
# runs without NET_ADMIN, so it cannot change them. Everything is dropped (IPv4 and IPv6)
# but traffic to the gate's resolver, HTTP and TLS ports, and loopback other than Docker's
# resolver (which would forward any name). $1: the gate's container name; its address is
# printed last.
set -eu
gate=$(getent ahostsv4 "$1" | awk 'NR == 1 { print $1 }')
[ -n "$gate" ] || { echo "fence: cannot find the gate $1" >&2; exit 1; }
for t in iptables ip6tables; do
  if [ "$t" = ip6tables ] && [ ! -e /proc/net/if_inet6 ]; then
    continue # no IPv6 in this kernel: nothing to drop
  fi
  $t -P INPUT DROP
  $t -P OUTPUT DROP
  $t -P FORWARD DROP
  $t -F INPUT
  $t -F OUTPUT
  $t -F FORWARD
  $t -S OUTPUT | grep -qx -- '-P OUTPUT DROP'
done
iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
iptables -A INPUT -i lo ! -s 127.0.0.11 -j ACCEPT
iptables -A OUTPUT -o lo ! -d 127.0.0.11 -j ACCEPT
iptables -A OUTPUT -d "$gate" -p tcp -m multiport --dports 53,80,443 -j ACCEPT
iptables -A OUTPUT -d "$gate" -p udp --dport 53 -j ACCEPT
# The build shares this file (Docker gives a joined namespace its resolv.conf).
printf 'nameserver %s\noptions ndots:0\n' "$gate" >/etc/resolv.conf
echo "fence-up $gate"

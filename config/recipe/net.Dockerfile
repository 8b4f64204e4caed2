# cctui network holder: owns a session's network namespace and enforces its egress allowlist
# (dnsmasq as the only resolver feeding ipsets, iptables default-deny), checks names on the
# ports that carry one (nginx: stream ssl_preread for TLS, http for Host) and holds the API
# credential in a broker (nginx again, as its own uid). The agent container joins this
# namespace with no capabilities, so it can neither see nor change the rules.
# Interface: /usr/local/sbin/cctui-fw (hold | apply | verify | counters | log | show | broker).
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 TZ=Etc/UTC
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY extra-ca/ /usr/local/share/ca-certificates/cctui/
RUN update-ca-certificates >/dev/null
# Fixed, unusual uids: the firewall tells the resolver's traffic apart by uid, so the agent's
# uid (the host user's) must never equal the resolver's (64998), the probe's (64999), the
# proxy's (64997) or the broker's (64996).
RUN groupadd -r -g 64998 dnsmasq \
 && useradd -r -M -u 64998 -g 64998 -d /nonexistent -s /usr/sbin/nologin dnsmasq \
 && groupadd -r -g 64999 cctui-probe \
 && useradd -r -M -u 64999 -g 64999 -d /nonexistent -s /usr/sbin/nologin cctui-probe \
 && groupadd -r -g 64997 cctui-proxy \
 && useradd -r -M -u 64997 -g 64997 -d /nonexistent -s /usr/sbin/nologin cctui-proxy \
 && groupadd -r -g 64996 cctui-broker \
 && useradd -r -M -u 64996 -g 64996 -d /nonexistent -s /usr/sbin/nologin cctui-broker \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      iptables ipset dnsmasq-base iproute2 dnsutils netcat-openbsd procps util-linux tini \
      tcpdump mawk nginx libnginx-mod-stream curl \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && test "$(id -u dnsmasq)" = 64998 \
 && mkdir -p /etc/cctui /run/cctui/proxy /run/cctui/broker /var/log/cctui/proxy /var/log/cctui/broker \
 && chown root:dnsmasq /var/log/cctui \
 && chmod 2775 /var/log/cctui \
 && chown cctui-proxy:cctui-proxy /run/cctui/proxy /var/log/cctui/proxy \
 && chown cctui-broker:cctui-broker /run/cctui/broker /var/log/cctui/broker \
 && chmod 0755 /run/cctui/proxy /run/cctui/broker /var/log/cctui/proxy /var/log/cctui/broker
COPY net/ /usr/local/sbin/
RUN chmod 0755 /usr/local/sbin/cctui-fw
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/usr/local/sbin/cctui-fw", "hold"]

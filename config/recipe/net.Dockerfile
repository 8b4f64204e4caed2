# cctui network holder: owns a session's network namespace and enforces its egress allowlist
# (dnsmasq as the only resolver feeding ipsets, iptables default-deny). The agent container
# joins this namespace with no capabilities, so it can neither see nor change the rules.
# Interface: /usr/local/sbin/cctui-fw (hold | apply | verify | counters | log | show).
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 TZ=Etc/UTC
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY extra-ca/ /usr/local/share/ca-certificates/cctui/
RUN update-ca-certificates >/dev/null
# Fixed, unusual uids: the firewall tells the resolver's traffic apart by uid, so the agent's
# uid (the host user's) must never equal the resolver's (64998) or the probe's (64999).
RUN groupadd -r -g 64998 dnsmasq \
 && useradd -r -M -u 64998 -g 64998 -d /nonexistent -s /usr/sbin/nologin dnsmasq \
 && groupadd -r -g 64999 cctui-probe \
 && useradd -r -M -u 64999 -g 64999 -d /nonexistent -s /usr/sbin/nologin cctui-probe \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      iptables ipset dnsmasq-base iproute2 dnsutils netcat-openbsd procps util-linux tini \
      tcpdump mawk \
 && rm -rf /var/lib/apt/lists/* \
 && test "$(id -u dnsmasq)" = 64998 \
 && mkdir -p /etc/cctui /run/cctui /var/log/cctui \
 && chown root:dnsmasq /var/log/cctui \
 && chmod 2775 /var/log/cctui
COPY net/ /usr/local/sbin/
RUN chmod 0755 /usr/local/sbin/cctui-fw
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/usr/local/sbin/cctui-fw", "hold"]

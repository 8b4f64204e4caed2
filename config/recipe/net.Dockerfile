# cctui network holder: owns a session's network namespace and enforces its egress allowlist
# (dnsmasq as the only resolver feeding ipsets, iptables default-deny). The agent container
# joins this namespace with no capabilities, so it can neither see nor change the rules.
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY extra-ca/ /usr/local/share/ca-certificates/cctui/
RUN update-ca-certificates >/dev/null
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      iptables ipset dnsmasq-base iproute2 dnsutils netcat-openbsd procps util-linux tini tcpdump mawk \
 && rm -rf /var/lib/apt/lists/* \
 && (getent passwd dnsmasq >/dev/null || useradd -r -M -s /usr/sbin/nologin dnsmasq) \
 && useradd -r -M -u 64999 -s /usr/sbin/nologin cctui-probe
COPY net/ /usr/local/sbin/
RUN chmod 0755 /usr/local/sbin/cctui-fw
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/usr/local/sbin/cctui-fw", "hold"]

# cctui base image: Debian bookworm, Node.js, the usual tools, Claude Code, a non-root agent.
# Override by copying this file to ~/.config/cctui/recipe/base.Dockerfile.
# No secret ever goes into this recipe: keys reach the container at run time only.
FROM debian:bookworm-slim

ARG AGENT_UID=1000
ARG AGENT_GID=1000
ARG CLAUDE_CODE_VERSION=latest
ARG TZ=Etc/UTC

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=${TZ}

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# Extra CAs (corporate TLS-inspecting proxies) from the image.extra_ca_certs setting.
COPY extra-ca/ /usr/local/share/ca-certificates/cctui/
RUN update-ca-certificates >/dev/null
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      nodejs npm git gh ripgrep jq less procps bash tzdata curl openssh-client \
      iproute2 dnsutils netcat-openbsd unzip xz-utils file vim-tiny \
 && rm -rf /var/lib/apt/lists/*

RUN npm install -g --no-fund --no-audit "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
 && npm cache clean --force \
 && claude --version

COPY agent/ /usr/local/bin/
RUN chmod 0755 /usr/local/bin/cctui-*

# The agent: the host user's uid/gid, so workspace files belong to the user. Never root.
RUN groupadd -o -g "${AGENT_GID}" claude \
 && useradd -o -m -u "${AGENT_UID}" -g "${AGENT_GID}" -s /bin/bash claude \
 && mkdir -p /home/claude/.claude /commandhistory /run/cctui /etc/claude-code \
 && chown claude:claude /home/claude/.claude /commandhistory

ENV CLAUDE_CONFIG_DIR=/home/claude/.claude \
    HISTFILE=/commandhistory/.bash_history \
    PROMPT_COMMAND="history -a" \
    DISABLE_AUTOUPDATER=1 \
    SHELL=/bin/bash

USER claude
WORKDIR /home/claude
ENTRYPOINT ["/usr/local/bin/cctui-agent"]
CMD ["claude"]

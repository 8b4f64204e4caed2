ARG BASE
FROM ${BASE}
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip python3-venv pipx python-is-python3 \
 && rm -rf /var/lib/apt/lists/*
USER claude

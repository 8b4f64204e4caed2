ARG BASE
FROM ${BASE}
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake gdb pkg-config \
 && rm -rf /var/lib/apt/lists/*
USER claude

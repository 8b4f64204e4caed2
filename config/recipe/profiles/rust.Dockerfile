ARG BASE
FROM ${BASE}
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends rustc cargo rustfmt gcc libc6-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
USER claude

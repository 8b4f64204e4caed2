ARG BASE
FROM ${BASE}
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends golang-go gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
USER claude

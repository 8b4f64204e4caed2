ARG BASE
FROM ${BASE}
USER root
RUN npm install -g --no-fund --no-audit typescript pnpm yarn && npm cache clean --force
USER claude

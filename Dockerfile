# Both images from one file: `docker compose` builds the `ha` and `webapp` targets.
# Everything comes from Debian's signed packages (trixie: HAProxy 3.0 LTS, serf, s6, nodejs 20);
# nothing is downloaded with curl.

# --- shared by both images: Node.js, s6 (PID 1), Serf ------------------------------------------------
FROM debian:trixie-slim AS base
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs s6 serf ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV HA_AGENT_HOME=/app \
    PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SERF_BIND=0.0.0.0:7946 \
    SERF_RPC_ADDR=127.0.0.1:7373
WORKDIR /app

# --- build stage: npm and TypeScript never reach a final image ----------------------------------------
FROM base AS build
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
# Extra CAs for a TLS-intercepting proxy in front of the npm registry (empty by default).
COPY docker/ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.webapp.json ./
COPY src src
COPY webapp/src webapp/src
# The lab (src/lab: local cluster, demo) stays out of the image, as out of the npm package.
RUN npx tsc -p tsconfig.build.json && npx tsc -p tsconfig.webapp.json && rm -rf dist/lab && npm prune --omit=dev

# --- the load balancer: HAProxy + Serf + ha-agent under s6 ---------------------------------------------
FROM base AS ha
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /run/haproxy /var/lib/ha-agent
COPY --from=build /src/node_modules /app/node_modules
COPY --from=build /src/dist /app/dist
COPY package.json /app/
COPY bin /app/bin
RUN ln -s /app/bin/ha-agent.js /usr/local/bin/ha-agent
COPY ha /app/ha
# The scripts last in each image: a change to them rebuilds no earlier layer (the build stage's npm above all).
COPY scripts/serf-agent.sh scripts/container-init.sh scripts/keygen.sh /app/scripts/
ENV HA_AGENT_RUNTIME=tcp://127.0.0.1:9999 \
    HA_AGENT_RUNTIME_SOCKET=/run/haproxy/admin.sock \
    HA_AGENT_MASTER_SOCKET=/run/haproxy/master.sock \
    HA_AGENT_RUNTIME_OPERATOR_BIND=0.0.0.0:9998 \
    HA_AGENT_FRONTEND_BIND=*:80 \
    HA_AGENT_STATS_BIND=*:1936 \
    HA_AGENT_CONFIG_OUT=/var/lib/ha-agent/haproxy.cfg \
    HA_AGENT_SERF=127.0.0.1:7373 \
    HA_AGENT_ALLOW_CIDR=auto \
    HA_AGENT_METRICS=127.0.0.1:9101 \
    SERF_ROLE=lb
EXPOSE 80 1936 7946 9998
# Healthy while ha-agent reaches both HAProxy's Runtime API and the local Serf agent.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:9101/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["/app/scripts/container-init.sh", "/app/ha/services"]

# --- a web server: the web app + Serf under s6 ----------------------------------------------------------
FROM base AS webapp
COPY --from=build /src/webapp/dist /app/webapp/dist
COPY webapp/services /app/webapp/services
COPY scripts/serf-agent.sh scripts/container-init.sh scripts/keygen.sh /app/scripts/
ENV PORT=3000 \
    SERF_ROLE=backend \
    SERF_JOIN=ha
EXPOSE 3000 7946
ENTRYPOINT ["/app/scripts/container-init.sh", "/app/webapp/services"]

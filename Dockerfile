# syntax=docker/dockerfile:1
#
# ModelForge image: docker build -t modelforge .
# Debian (glibc), not Alpine: onnxruntime-node ships glibc-only binaries.

# Node.js 24 is the active LTS (20 reached end of life in April 2026); CI tests 20 and 24.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- base: toolchain shared by both install stages ---------------------------------------------
FROM ${NODE_IMAGE} AS base
# better-sqlite3 compiles from source when no prebuilt binary can be downloaded.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The image ships npm 10, which ignores package.json "allowScripts"; use the npm the lockfile was made with.
ARG NPM_VERSION=11.19.1
RUN npm install -g "npm@${NPM_VERSION}" && npm --version
# Skip onnxruntime-node's postinstall (CUDA download) even if allowScripts is not honoured; the CPU
# binaries are in the package. node-gyp uses the image's Node headers instead of downloading them.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    npm_config_nodedir=/usr/local
WORKDIR /app

# --- build: all dependencies + tsc -> dist/src/main.js ------------------------------------------
FROM base AS build
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build
# The dashboard (web/ -> web/out, a static export served at /ui).
COPY web ./web
COPY scripts/build-web.mjs ./scripts/build-web.mjs
RUN NEXT_TELEMETRY_DISABLED=1 npm run build:web

# --- prod-deps: runtime dependencies only --------------------------------------------------------
FROM base AS prod-deps
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --omit=dev
# onnxruntime-node bundles binaries for every OS/arch (~250 MB); keep only this platform's.
RUN ort=node_modules/onnxruntime-node/bin/napi-v6 \
 && if [ -d "$ort/linux" ]; then \
      find "$ort" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
      && find "$ort/linux" -mindepth 1 -maxdepth 1 ! -name "$(node -p process.arch)" -exec rm -rf {} + ; \
    fi

# --- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
# Unprivileged user; only DATA_DIR is writable (code and node_modules stay root-owned).
RUN groupadd --gid 10001 modelforge \
 && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin modelforge \
 && mkdir -p /app/data \
 && chown 10001:10001 /app/data
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/out ./web/out
# The gRPC service definition, read at start (src/oip/grpc/grpc-definition.ts).
COPY proto ./proto
USER 10001:10001
# Model artifacts, upload staging and (without DATABASE_URL) the SQLite file. A new named volume
# copies this directory's ownership, so the app user can write to it.
VOLUME ["/app/data"]
# HTTP, and the Open Inference Protocol over gRPC (GRPC_PORT).
EXPOSE 3000 8001
# Liveness only (checks no dependency). Node itself does the request: slim images have no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "require('node:http').get({host:'127.0.0.1',port:process.env.PORT||3000,path:'/health/live',timeout:4000},(r)=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]
# main.ts handles SIGTERM/SIGINT (readiness 503, drain, close), so node works as PID 1; docker-compose.yml
# also sets `init: true` (use `docker run --init`) for zombie reaping. Run node directly, not via npm,
# so the signal reaches it.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]

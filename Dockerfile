# syntax=docker/dockerfile:1.7
#
# One image for every Pushcast process; the command chooses which (each is what the npm script of
# the same name runs, see package.json):
#
#   docker run pushcast                                                   all-in-one (npm start)
#   docker run pushcast node --import tsx apps/api/src/main.ts            API        (npm run start:api)
#   docker run pushcast node --import tsx apps/worker/src/main.ts         worker     (npm run start:worker)
#   docker run pushcast node --import tsx apps/pushcast/src/cli.ts migrate  migrations (npm run migrate)
#   docker run pushcast node apps/pushcast/bin/pushcast.js token create --admin   the CLI
#
# Why `node …` and not `npm run …` for the long-running processes: npm starts scripts through
# `sh -c`, and Debian's sh (dash) forks rather than execs, so the SIGTERM that Docker and Kubernetes
# send to PID 1 never reaches node, and the graceful shutdown (SHUTDOWN_GRACE_MS) never happens.
#
# The TypeScript sources run through tsx, as in a checkout (docs/architecture.md): no build step,
# and the migrations (SQL) and Redis scripts (Lua) are read from files next to the sources, which a
# bundle would have to carry anyway. tsx caches its transforms under /tmp (an emptyDir in Kubernetes,
# where the root filesystem is read-only).
#
# What the image leaves out: devDependencies, tests, benchmarks, docs, and the demo with the local
# Web Push, APNs and FCM servers it starts (packages/local-*): `npm run demo` is for a checkout.

# A Node.js LTS line that every locked dependency declares support for: 24 (LTS until April 2028).
# Not 26, the newest LTS: @parse/node-apn 8.1.0 declares engines "20 || 22 || 24", so npm warns
# (EBADENGINE) on 26; move to 26 when it does not (test/runtime.test.ts checks every locked
# package against this line). The code also runs on Node 20.19+ (package.json's engines) for
# machines that still have it; CI runs the test suite on both (scripts/test.sh, with the Node that
# scripts/lts-node.sh fetches for the major written here).
ARG NODE_IMAGE=node:24-trixie-slim

# --- production dependencies of the API and the worker (and of what they import), from the lockfile
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Every workspace's package.json, so that npm ci sees the workspaces the lockfile was made with.
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/pushcast/package.json apps/pushcast/
COPY packages/config/package.json packages/config/
COPY packages/core/package.json packages/core/
COPY packages/domain/package.json packages/domain/
COPY packages/local-apns-service/package.json packages/local-apns-service/
COPY packages/local-fcm-service/package.json packages/local-fcm-service/
COPY packages/local-push-service/package.json packages/local-push-service/
COPY packages/local-tls/package.json packages/local-tls/
COPY packages/observability/package.json packages/observability/
COPY packages/providers/package.json packages/providers/
COPY packages/queues/package.json packages/queues/
COPY packages/redis-state/package.json packages/redis-state/
COPY packages/runtime/package.json packages/runtime/
COPY packages/store/package.json packages/store/
# --workspace: the API's and the worker's dependencies (workspace packages included) and the root's
# (tsx) only, so the demo's local servers and their certificate library stay out. No install
# scripts run: the native parts used (esbuild, msgpackr) come as prebuilt optional packages.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --workspace=@pushcast/api --workspace=@pushcast/worker --include-workspace-root

# --- runtime: Node, production node_modules and the sources the entry points load
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_CACHE=/tmp/.npm
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# tsconfig.json: tsx transforms the sources with the same settings as in a checkout.
COPY package.json tsconfig.json ./
# Files stay owned by root and read-only to the process. .dockerignore drops tests, benchmarks and
# the demo from these folders.
COPY apps/api apps/api
COPY apps/worker apps/worker
COPY apps/pushcast apps/pushcast
COPY packages/config packages/config
COPY packages/core packages/core
COPY packages/domain packages/domain
COPY packages/observability packages/observability
COPY packages/providers packages/providers
COPY packages/queues packages/queues
COPY packages/redis-state packages/redis-state
COPY packages/runtime packages/runtime
COPY packages/store packages/store
# The console's script and stylesheet, bundled now rather than by each replica on its first request.
RUN node --import tsx apps/api/src/console/build.ts
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
# API (PORT), worker metrics and probes (METRICS_PORT): the defaults of packages/config.
EXPOSE 8080 9464
CMD ["node", "--import", "tsx", "apps/pushcast/src/main.ts"]

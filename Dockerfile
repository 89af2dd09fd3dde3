# syntax=docker/dockerfile:1
# The operator image. scripts/image-build-check runs this file's build steps (the same COPY and
# RUN lines, parsed from here) on a clean copy of the repository without a Docker engine, and
# boots the entrypoint from the result; `npm test` runs it.
#
# Build stage: every dependency, compile src/ (tsconfig.image.json), then prune to production
# dependencies so the runtime stage copies node_modules as it will run.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.image.json ./
COPY src ./src
RUN npx --no-install tsc -p tsconfig.image.json
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime: distroless Node 24 (no shell, no package manager), numeric non-root user matching the
# chart's runAsUser. Node is PID 1 and handles SIGTERM itself (src/main.ts): /readyz turns 503, the
# adapter stops taking connections and finishes calls in flight, reconciles, reports and charges in
# flight finish, the Lease is released, exit 0; a second signal or the deadline exits at once.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
# Memory (docs/adr/0030-memory-runtime.md): a small V8 young generation and few glibc arenas that
# give freed memory back. The chart sets these again from its `runtime` values, with the heap limit.
ENV NODE_OPTIONS=--max-semi-space-size=4 MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072
COPY --from=build --chown=65532:65532 /app/package.json ./
COPY --from=build --chown=65532:65532 /app/node_modules ./node_modules
COPY --from=build --chown=65532:65532 /app/dist ./dist
COPY --chown=65532:65532 crds ./crds
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/nodejs/bin/node", "dist/src/main.js"]

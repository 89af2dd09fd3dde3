# syntax=docker/dockerfile:1
# Build stage: full dependencies, compile TypeScript, then prune to production dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY dev ./dev
COPY bench ./bench
COPY scripts/*.ts ./scripts/
COPY test/support ./test/support
RUN npm run build \
 && npm ci --omit=dev --no-audit --no-fund \
 && rm -rf dist/dev dist/bench dist/scripts dist/test

# Runtime: distroless Node 24, no shell, numeric non-root user. Node is PID 1 and handles
# SIGTERM itself (src/main.ts): stop taking calls, finish reconciles and reports, release the Lease.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=65532:65532 /app/package.json ./
COPY --from=build --chown=65532:65532 /app/node_modules ./node_modules
COPY --from=build --chown=65532:65532 /app/dist ./dist
COPY --chown=65532:65532 crds ./crds
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/nodejs/bin/node", "dist/src/main.js"]

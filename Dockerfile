# syntax=docker/dockerfile:1
# Folio: API (default command) and worker (`node dist/src/worker.js`) in one image.
#   docker build -t folio .
#   docker run --env-file .env.production -p 8000:8000 folio
# Layout in /app: dist/src/*.js and dist/scripts/*.js (tsc, rootDir "."), dist/migrations (the built
# code resolves ../../migrations from dist/src/core/) and dist/package.json (read for the version).

ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# --- deps: every dependency, for the build. No install scripts are needed to compile: bcrypt's
# --- native binding is loaded from its bundled prebuilds at run time, and git hooks are a dev concern.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

# --- build: TypeScript to dist/.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

# --- runtime: production dependencies, the built code and the migrations; runs as `node`.
FROM ${NODE_IMAGE} AS runtime
ENV APP_ENV=production \
    NODE_ENV=production \
    PORT=8000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./dist/migrations
COPY package.json ./dist/package.json
# The code stays owned by root and read-only for the service user.
USER node
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]

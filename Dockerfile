# tollgate container image (SPEC §9). Build:  docker build -t tollgate .
#                                          or podman build --format docker -t tollgate .
# (podman's default OCI format drops HEALTHCHECK; `--format docker` keeps it.)
#
# One pinned base for every stage: the official Bun image, Debian slim variant, at the exact Bun
# version the project pins in package.json (devDependency "bun": "1.4.4"). Change both together.

# ---------------------------------------------------------------------------------------------
# Stage 1: production dependencies.
#
# How: `bun install --production --frozen-lockfile` straight from the committed package-lock.json.
# Why this way:
# - The Bun image has no Node/npm, so `npm ci --omit=dev` would need a second base image (and a
#   second pin to keep current); Bun reads package-lock.json itself (it migrates it to its own
#   lockfile inside this stage), and the project has no bun.lock.
# - Reproducible: every version and integrity hash comes from package-lock.json; `--frozen-lockfile`
#   fails the build if package.json and the lockfile disagree instead of resolving anything anew,
#   and Bun checks each tarball against the lock's integrity hash. The only thing fetched is those
#   tarballs from the npm registry, exactly as `npm ci` would; two builds from one commit get the
#   same files.
# - `--omit=peer`: the runtime needs exactly the "dependencies" of package.json and what they
#   depend on. Peer-only packages are left out: typescript (an unmarked peer of
#   @elysiajs/openapi, used only by its `fromTypes` generator), @types/bun/bun-types/@types/node
#   (type declarations), @opentelemetry/api (optional tracing hook) and file-type (loaded lazily by
#   Elysia for t.File() uploads, which tollgate does not use). The peers Elysia does need at
#   runtime (@sinclair/typebox, openapi-types) are direct dependencies in package.json.
# - `--ignore-scripts`: no install script runs (swagger-ui-dist would pull in a telemetry
#   postinstall); nothing in the production tree needs a build step.
# - Behind a TLS-intercepting proxy, give its CA bundle as the optional build secret `npm_ca`
#   (`--secret id=npm_ca,src=/path/to/ca.pem`, BuildKit or podman/buildah): it is mounted for this
#   one RUN only and is in no layer and not in the history.
# ---------------------------------------------------------------------------------------------
FROM oven/bun:1.4.4-slim AS deps
WORKDIR /home/bun/app
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
    && bun install --production --frozen-lockfile --ignore-scripts --omit=peer --no-progress

# ---------------------------------------------------------------------------------------------
# Stage 2: runtime. Only the Bun runtime (no compiler, no package manager cache, no dev
# dependencies), the production node_modules, the source (Bun runs TypeScript directly), the
# console's front-end source (ui/, bundled by Bun in memory the first time /ui asks for it, from the
# production dependencies preact and uplot: nothing is written to the image at run time) and the
# committed drizzle migrations, which src/db/open.ts reads at startup from <app>/drizzle.
# Application files stay owned by root: the gateway's user can read them, not change them.
# No secret is baked in: TOLLGATE_MASTER_KEY and provider keys are given at run time
# (`-e TOLLGATE_MASTER_KEY`, or `${VAR}` references in a mounted TOLLGATE_CONFIG file).
# ---------------------------------------------------------------------------------------------
FROM oven/bun:1.4.4-slim AS runtime

# NODE_ENV=production: Elysia's production mode (its own validation errors carry no schema details).
# BUN_CONFIG_MAX_HTTP_REQUESTS: Bun's own cap on fetches in flight (256 unset), read once at process start;
# it must exceed TOLLGATE_MAX_UPSTREAM_CONCURRENCY (default 2048) by 32, or the gateway lowers its limit.
# BUN_JSC_useFTLJIT=0: JavaScriptCore's top compiler tier off, ~20-40 MB less memory under load for no CPU it
# measurably saved here (src/runtime-env.ts). BUN_JSC_forceRAMSize: JavaScriptCore sized for a 4 GB machine
# whatever the host has, ~20 MB less peak memory under load for the same CPU (src/runtime-env.ts). All are read
# once at start, so they are set here, not in code.
ENV NODE_ENV=production \
    BUN_CONFIG_MAX_HTTP_REQUESTS=4096 \
    BUN_JSC_useFTLJIT=0 \
    BUN_JSC_forceRAMSize=4294967296 \
    TOLLGATE_HOST=0.0.0.0 \
    TOLLGATE_PORT=8080 \
    TOLLGATE_DB=/data/tollgate.db

# The SQLite database (and its -wal/-shm files) lives in /data, readable and writable only by the `bun` user.
RUN mkdir -p /data && chown bun:bun /data && chmod 0700 /data

WORKDIR /home/bun/app
COPY --from=deps /home/bun/app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY drizzle ./drizzle
# The Postgres store's migrations, applied by each replica at startup (deploy/compose.yaml runs on Postgres).
COPY drizzle-pg ./drizzle-pg
COPY src ./src
COPY ui ./ui

# The official image's non-root user (uid 1000, gid 1000).
USER bun
VOLUME /data
EXPOSE 8080

# The image has no curl: Bun itself asks /health. It follows TOLLGATE_PORT if the port is changed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.TOLLGATE_PORT || 8080) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The official image's entrypoint runs this command with exec: bun is the container's main process.
CMD ["bun", "src/index.ts"]

#!/usr/bin/env bash
# container-check: builds the project's Dockerfile and checks the image against SPEC §9, on a machine
# with no Docker engine and no image registry (podman + buildah from Debian, a local stand-in for the
# official Bun base image). Prints every check and ends with one line:
#   container-check: PASS                -> exit 0
#   container-check: FAIL: <reasons>     -> exit 1
#   container-check: SKIPPED: <reason>   -> exit 0 (podman/buildah cannot be installed or run here)
#
# usage: scripts/container-check.sh [PROJECT_DIR]        (default: this repository)
#
# Needs root (rootful podman, apt-get). Rerunnable: the stand-in base is rebuilt only when the bun
# binary or its recipe changes, the build uses podman's layer cache, the working containers and the
# temporary files are removed on exit. Every wait is bounded. See docs/container.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
PROJECT=$(cd "${1:-$REPO_ROOT}" && pwd)
IMAGE=localhost/tollgate:check
BUILD_TIMEOUT=${CONTAINER_CHECK_BUILD_TIMEOUT:-1200}   # seconds
START_TIMEOUT=${CONTAINER_CHECK_START_TIMEOUT:-60}     # seconds until /health must answer 200
# CONTAINER_CHECK_PORT: host port for the gateway under test (default: a free one)
T_BEGIN=$(date +%s)

say() { printf 'container-check: %s\n' "$*"; }
section() { printf '\ncontainer-check: == %s\n' "$*"; }
FAILURES=()
ok() { printf 'container-check:   ok    %s\n' "$*"; }
bad() { FAILURES+=("$1"); printf 'container-check:   FAIL  %s\n' "$1"; [[ -z ${2:-} ]] || printf '%s\n' "$2" | sed 's/^/container-check:         | /'; }
info() { printf 'container-check:   info  %s\n' "$*"; }
skip() { say "SKIPPED: $*"; exit 0; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
human() { numfmt --to=si --suffix=B --format='%.1f' "$1" 2>/dev/null || echo "$1 bytes"; }

WORK=$(mktemp -d -t tollgate-container-check.XXXXXX)
CONTAINERS=()
BG_PGIDS=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local pgid c
  for pgid in "${BG_PGIDS[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null || true; done
  for c in "${CONTAINERS[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM
# Anything that fails outside the checks still ends with the one summary line.
set -o errtrace
trap 'rc=$?; say "FAIL: unexpected error (exit $rc) at line $LINENO: $BASH_COMMAND"; exit 1' ERR

finish() {
  local took=$(( $(date +%s) - T_BEGIN ))
  echo
  say "took ${took}s"
  if [[ ${#FAILURES[@]} -eq 0 ]]; then
    say "PASS"
    exit 0
  fi
  local reasons
  reasons=$(printf '%s; ' "${FAILURES[@]}")
  say "FAIL: ${reasons%; }"
  exit 1
}

say "project: $PROJECT"
[[ -f $PROJECT/Dockerfile ]] || { bad "no Dockerfile in $PROJECT"; finish; }

# ------------------------------------------------------------------------------------------------
section "tools"
[[ $(id -u) -eq 0 ]] || skip "needs root (rootful podman/buildah and apt-get); run it as root or in CI as root"
if ! command -v podman >/dev/null || ! command -v buildah >/dev/null; then
  command -v apt-get >/dev/null || skip "podman/buildah are missing and there is no apt-get to install them"
  say "installing podman and buildah with apt-get (a few minutes)"
  if ! { timeout 300 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq podman buildah; } >"$WORK/apt.log" 2>&1; then
    tail -5 "$WORK/apt.log" | sed 's/^/container-check:   | /'
    skip "apt-get could not install podman and buildah (see the lines above)"
  fi
fi
for t in ldd tar sha256sum numfmt setsid timeout; do
  command -v "$t" >/dev/null || skip "host tool $t is missing"
done
info "$(podman --version), $(buildah --version | cut -d' ' -f1-3)"

# The project's pinned bun (npm package "bun"): the stand-in base is made from it, and the script
# uses it on the host for small helpers (free port, HTTP when curl is missing).
HOST_BUN=""
for candidate in "$PROJECT/node_modules/bun/bin/bun.exe" "$REPO_ROOT/node_modules/bun/bin/bun.exe"; do
  if [[ -x $candidate ]]; then HOST_BUN=$candidate; break; fi
done
if [[ -z $HOST_BUN ]]; then
  bad "node_modules/bun/bin/bun.exe is missing: run npm ci first (the stand-in base image is made from it)"
  finish
fi
HOST_BUN_VERSION=$("$HOST_BUN" --version)
info "bun from the project's npm package: $HOST_BUN_VERSION ($HOST_BUN)"

http_get() { # url -> prints "STATUS BODY" (status 000 when nothing answers)
  if command -v curl >/dev/null; then
    local body status
    body=$(curl -s --max-time 2 -o - -w '\n%{http_code}' "$1" 2>/dev/null || true)
    status=${body##*$'\n'}
    printf '%s %s\n' "${status:-000}" "${body%$'\n'*}"
  else
    "$HOST_BUN" -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then(async r => console.log(r.status, await r.text()), () => console.log("000"))' "$1"
  fi
}
port_free() { # port -> 0 when nothing can be reached on it and we can bind it
  "$HOST_BUN" -e 'try { const s = Bun.listen({ hostname: "0.0.0.0", port: Number(process.argv[1]), socket: { data() {} } }); s.stop(true); process.exit(0) } catch { process.exit(1) }' "$1" 2>/dev/null
}
free_port() {
  "$HOST_BUN" -e 'const s = Bun.listen({ hostname: "0.0.0.0", port: 0, socket: { data() {} } }); console.log(s.port); s.stop(true)'
}
random_alnum() { # length
  local out=""
  while [[ ${#out} -lt $1 ]]; do out+=$(head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'); done
  printf '%s' "${out:0:$1}"
}

# ------------------------------------------------------------------------------------------------
section "base image"
mapfile -t FROMS < <(awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; break } }' "$PROJECT/Dockerfile")
mapfile -t STAGES < <(awk 'toupper($1) == "FROM" { for (i = 2; i < NF; i++) if (toupper($i) == "AS") print $(i + 1) }' "$PROJECT/Dockerfile")
BASES=()
for f in "${FROMS[@]}"; do
  is_stage=0
  for s in "${STAGES[@]}"; do [[ $f == "$s" ]] && is_stage=1; done
  [[ $is_stage -eq 1 ]] || BASES+=("$f")
done
mapfile -t UNIQUE_BASES < <(printf '%s\n' "${BASES[@]}" | sort -u)
if [[ ${#UNIQUE_BASES[@]} -ne 1 ]]; then
  bad "the Dockerfile's stages do not share one base image: ${UNIQUE_BASES[*]}"
  finish
fi
BASE=${UNIQUE_BASES[0]}
BASE_TAG=${BASE##*:}
[[ $BASE == *:* && $BASE != *@* ]] || BASE_TAG=""
info "FROM $BASE in all ${#FROMS[@]} stage(s)"
if [[ $BASE_TAG =~ ^([0-9]+\.[0-9]+\.[0-9]+) ]]; then
  ok "base tag is pinned to a full version ($BASE_TAG)"
else
  bad "base image $BASE is not pinned to a full x.y.z tag"
  finish
fi
if [[ ${BASH_REMATCH[1]} == "$HOST_BUN_VERSION" ]]; then
  ok "base tag matches the pinned bun devDependency ($HOST_BUN_VERSION)"
else
  bad "base tag $BASE_TAG does not match the project's pinned bun $HOST_BUN_VERSION (the stand-in would not be that image)"
  finish
fi
# The fully qualified name podman resolves the FROM line to.
BASE_REF=$BASE
first=${BASE%%/*}
if [[ $BASE != */* ]]; then BASE_REF=docker.io/library/$BASE
elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then BASE_REF=docker.io/$BASE
fi
if ! timeout 600 "$SCRIPT_DIR/container/stand-in-base.sh" "$BASE_REF" "$HOST_BUN" "$WORK/stand-in" >"$WORK/stand-in.log" 2>&1; then
  sed 's/^/container-check:   | /' "$WORK/stand-in.log"
  skip "could not assemble the stand-in base image $BASE_REF here (see the lines above)"
fi
sed 's/^/container-check:   info  /' "$WORK/stand-in.log"
# Can this machine run a process in an image at all? If not, nothing below can be checked.
if ! probe=$(buildah from --pull-never "$BASE_REF" 2>"$WORK/probe.log"); then
  skip "buildah cannot create a container here: $(tail -1 "$WORK/probe.log")"
fi
CONTAINERS+=("$probe")
if ! timeout 60 buildah run --isolation chroot "$probe" bun --version >"$WORK/probe.log" 2>&1; then
  skip "buildah cannot run a process in a container here: $(tail -1 "$WORK/probe.log")"
fi
ok "base image runs: bun $(tail -1 "$WORK/probe.log") in $BASE_REF"
BASE_LAYERS=$(podman image inspect --format '{{len .RootFS.Layers}}' "$BASE_REF")

# ------------------------------------------------------------------------------------------------
section "build"
# The build context is a snapshot of the project (hard links, so it is instant and the tree being
# edited does not change under the build), with decoys planted where .dockerignore must keep them
# out: .env files with key-shaped values, databases, a test folder. The layer scan below must find
# none of them. The Dockerfile itself is used unchanged.
CONTEXT=$WORK/context
if ! cp -al "$PROJECT/." "$CONTEXT" 2>/dev/null; then
  rm -rf "$CONTEXT"
  cp -a "$PROJECT/." "$CONTEXT"
fi
DECOY_MASTER=decoymaster$(random_alnum 32)
DECOY_TG=tg-$(random_alnum 43)
DECOY_SK=sk-proj-$(random_alnum 48)
# (rm first: in a hard-linked snapshot, writing into an existing file would change the project's copy)
rm -rf "$CONTEXT/.env.container-check" "$CONTEXT/src/.container-check" "$CONTEXT/data/container-check.db" "$CONTEXT/test/container-check-decoy.ts"
printf 'TOLLGATE_MASTER_KEY=%s\nOPENAI_API_KEY=%s\nTOLLGATE_ADMIN_KEY=%s\n' "$DECOY_MASTER" "$DECOY_SK" "$DECOY_TG" >"$CONTEXT/.env.container-check"
mkdir -p "$CONTEXT/data" "$CONTEXT/src/.container-check" "$CONTEXT/test"
printf 'TOLLGATE_MASTER_KEY=%s\n' "$DECOY_MASTER" >"$CONTEXT/src/.container-check/.env"
printf 'SQLite format 3 decoy %s\n' "$DECOY_TG" >"$CONTEXT/data/container-check.db"
printf 'decoy %s\n' "$DECOY_SK" >"$CONTEXT/src/.container-check/decoy.db-wal"
printf 'decoy %s\n' "$DECOY_TG" >"$CONTEXT/test/container-check-decoy.ts"
info "context: snapshot of $PROJECT with decoy secrets in .env.container-check, src/.container-check/, data/, test/"

BUILD_ARGS=(build --isolation chroot --format docker --pull=never -t "$IMAGE" -f "$CONTEXT/Dockerfile")
# The Dockerfile's optional `npm_ca` build secret: the CA bundle this host trusts, for a registry
# reached through a TLS-intercepting proxy. Mounted for one RUN, in no layer (checked below).
CA_BUNDLE=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
if [[ -s $CA_BUNDLE ]] && grep -q 'id=npm_ca' "$PROJECT/Dockerfile"; then
  BUILD_ARGS+=(--secret "id=npm_ca,src=$CA_BUNDLE")
  info "build secret npm_ca = $CA_BUNDLE"
fi
OLD_IMAGE_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
say "podman ${BUILD_ARGS[*]} $CONTEXT"
t0=$(now_ms)
if ! timeout "$BUILD_TIMEOUT" podman "${BUILD_ARGS[@]}" "$CONTEXT" >"$WORK/build.log" 2>&1; then
  tail -25 "$WORK/build.log" | sed 's/^/container-check:   | /'
  bad "podman build failed (last lines above)"
  finish
fi
BUILD_MS=$(( $(now_ms) - t0 ))
IMAGE_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE")
ok "built $IMAGE (${IMAGE_ID:0:12}) in $(( BUILD_MS / 1000 )).$(( BUILD_MS % 1000 / 100 ))s"
if [[ -n $OLD_IMAGE_ID && $OLD_IMAGE_ID != "$IMAGE_ID" ]]; then
  podman rmi "$OLD_IMAGE_ID" >/dev/null 2>&1 || true   # the previous run's image, now untagged
fi

# ------------------------------------------------------------------------------------------------
section "user"
CONFIG_USER=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
case "$CONFIG_USER" in
  "" | root | 0 | 0:* | root:*) bad "image user is '${CONFIG_USER:-<empty>}' (root): the Dockerfile needs USER bun" ;;
  *) ok "image user (Config.User): $CONFIG_USER" ;;
esac
CTR=$(buildah from --pull-never "$IMAGE")
CONTAINERS+=("$CTR")
RUN_UID=$(timeout 60 buildah run --isolation chroot "$CTR" id -u 2>&1 | tail -1 || true)
RUN_ID=$(timeout 60 buildah run --isolation chroot "$CTR" id 2>&1 | tail -1 || true)
if [[ $RUN_UID =~ ^[0-9]+$ && $RUN_UID -ne 0 ]]; then
  ok "a process in the image runs as uid $RUN_UID ($RUN_ID)"
else
  bad "a process in the image runs as uid ${RUN_UID:-?} (root or unknown)" "$RUN_ID"
fi
DATA_STAT=$(timeout 60 buildah run --isolation chroot "$CTR" stat -c '%u:%g %a' /data 2>&1 | tail -1 || true)
if [[ $DATA_STAT == "$RUN_UID":* && $RUN_UID != 0 ]]; then
  ok "/data is owned by the image user ($DATA_STAT)"
else
  bad "/data is not owned by the image user (stat: $DATA_STAT)"
fi
VOLUMES=$(podman image inspect --format '{{json .Config.Volumes}}' "$IMAGE")
expect() { # haystack, needle, ok-message, fail-message
  if [[ $1 == *"$2"* ]]; then ok "$3"; else bad "$4"; fi
}
ENV_JSON=$(podman image inspect --format '{{json .Config.Env}}' "$IMAGE")
PORTS=$(podman image inspect --format '{{json .Config.ExposedPorts}}' "$IMAGE")
expect "$VOLUMES" '"/data"' "VOLUME /data" "no VOLUME /data (volumes: $VOLUMES)"
expect "$ENV_JSON" '"TOLLGATE_HOST=0.0.0.0"' "ENV TOLLGATE_HOST=0.0.0.0" "TOLLGATE_HOST=0.0.0.0 is not set in the image"
expect "$ENV_JSON" '"TOLLGATE_DB=/data/' "ENV TOLLGATE_DB under /data" "TOLLGATE_DB does not point into /data"
expect "$PORTS" '"8080/tcp"' "EXPOSE 8080" "port 8080 is not exposed ($PORTS)"

# ------------------------------------------------------------------------------------------------
section "layers"
t0=$(now_ms)
if ! timeout 600 podman save --format docker-archive -o "$WORK/image.tar" "$IMAGE" >"$WORK/save.log" 2>&1; then
  bad "podman save failed" "$(tail -3 "$WORK/save.log")"
  finish
fi
mkdir -p "$WORK/archive"
tar -xf "$WORK/image.tar" -C "$WORK/archive"
rm -f "$WORK/image.tar"
mapfile -t LAYER_TARS < <(grep -oE '[0-9a-f]{64}\.tar' "$WORK/archive/manifest.json")
CONFIG_JSON=$WORK/archive/$(grep -oE '"Config":"[0-9a-f]{64}\.json"' "$WORK/archive/manifest.json" | cut -d'"' -f4)
mapfile -t LAYER_HISTORY < <(podman image inspect --format '{{range .History}}{{if not .EmptyLayer}}{{.CreatedBy}}{{println}}{{end}}{{end}}' "$IMAGE" | sed -e 's|^/bin/sh -c #(nop) ||' -e 's|^/bin/sh -c |RUN |' | cut -c1-70)

# Names that must never be in any layer (a later layer deleting a file does not remove it from the
# layer that added it, so every layer is looked at on its own).
DEV_PACKAGES='typescript|drizzle-kit|bun|bun-types|openai|@anthropic-ai/sdk|@types/bun|@types/node|@oven/[^/]+|tsx|esbuild'
FORBIDDEN_PATHS="(^|/)\\.env[^/]*\$|\\.db\$|\\.db-(wal|shm|journal)\$|\\.sqlite[0-9]*\$|\\.cpuprofile\$|\\.heapsnapshot\$|(^|/)node_modules/($DEV_PACKAGES)/|^home/bun/app/(test|bench|data|\\.git)/|^run/secrets/|container-check"
# Key-shaped strings (patterns of SECURITY-relevant secrets). A candidate counts only when it mixes at
# least two of upper case, lower case and digits: random keys do, words glued together do not (the
# bun binary contains e.g. "sk-iconmodulepreloadopener..." from an HTML attribute table).
KEY_PATTERN='tg-[A-Za-z0-9_-]{30,}|sk-[A-Za-z0-9_-]{20,}|TOLLGATE_MASTER_KEY=[^[:space:]"'"'"'$<{]+|AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----'
key_like() { awk '{ s = $0; sub(/^[^:]*:/, "", s); n = 0; if (s ~ /[A-Z]/) n++; if (s ~ /[a-z]/) n++; if (s ~ /[0-9]/) n++; if (n >= 2 || s ~ /PRIVATE KEY|TOLLGATE_MASTER_KEY=/) print }'; }

total_files=0; total_bytes=0; ignored_words=0; ignored_examples=()
scan_hits=()                                     # every finding, printed
declare -A dev_found=() kind_found=()           # for the summary line
mask() { local v=$1; [[ ${#v} -le 12 ]] && printf '%s' "$v" || printf '%s…(%d chars)' "${v:0:10}" "${#v}"; }
for i in "${!LAYER_TARS[@]}"; do
  tarfile=$WORK/archive/${LAYER_TARS[$i]}
  n=$((i + 1))
  files=$(tar -tf "$tarfile" | wc -l)
  bytes=$(stat -c %s "$tarfile")
  total_files=$((total_files + files)); total_bytes=$((total_bytes + bytes))
  origin="tollgate"; [[ $n -le $BASE_LAYERS ]] && origin="base"
  printf 'container-check:   layer %d/%d %s  %-8s %6d entries %10s  %s\n' "$n" "${#LAYER_TARS[@]}" "${LAYER_TARS[$i]:0:12}" "$origin" "$files" "$(human "$bytes")" "${LAYER_HISTORY[$i]:-}"
  # Forbidden names; a dev-only package is reported once, with its file count.
  while read -r count path; do
    [[ -n $path ]] || continue
    if [[ $path =~ node_modules/(@[^/]+/[^/]+|[^/]+)/$ ]]; then
      dev_found[${BASH_REMATCH[1]}]=1
      scan_hits+=("layer $n: dev-only package /$path ($count files)")
    else
      kind_found[".env/database/test files"]=1
      scan_hits+=("layer $n: forbidden file /$path")
    fi
  done < <(tar -tf "$tarfile" | sed -e 's|^\./||' | grep -v '/$' | grep -E "$FORBIDDEN_PATHS" \
             | sed -E 's#^(.*node_modules/(@[^/]+/)?[^/]+/).*$#\1#' | sort | uniq -c || true)
  dir=$WORK/layer-$n
  mkdir -p "$dir"
  tar -xf "$tarfile" -C "$dir" --no-same-owner --no-same-permissions 2>/dev/null || true
  chmod -R u+rwX "$dir" 2>/dev/null || true
  raw=$(grep -r -a -o -E -e "$KEY_PATTERN" "$dir" 2>/dev/null | sed "s|^$dir/||" || true)
  if [[ -n $raw ]]; then
    keys=$(printf '%s\n' "$raw" | key_like || true)
    while IFS= read -r w; do
      [[ -n $w ]] && ignored_examples+=("/${w%%:*}: ${w#*:}")
    done < <(printf '%s\n' "$raw" | grep -v -x -F -f <(printf '%s\n' "$keys") | head -5 || true)
    ignored_words=$((ignored_words + $(printf '%s\n' "$raw" | wc -l) - $(printf '%s' "$keys" | grep -c . || true)))
    while IFS= read -r hit; do
      [[ -n $hit ]] || continue
      kind_found["key-like strings"]=1
      scan_hits+=("layer $n: key-like string in /${hit%%:*}: $(mask "${hit#*:}")")
    done <<<"$keys"
  fi
  for decoy in "$DECOY_MASTER" "$DECOY_TG" "$DECOY_SK"; do
    while IFS= read -r f; do
      [[ -n $f ]] || continue
      kind_found["decoy secrets planted in the build context"]=1
      scan_hits+=("layer $n: decoy secret from the build context in /${f#"$dir"/}")
    done < <(grep -r -l -a -F -e "$decoy" "$dir" 2>/dev/null || true)
  done
  rm -rf "$dir"
done
# The image config (ENV, LABEL, history of every instruction) is metadata every pull gets too.
config_hits=$(grep -a -o -E -e "$KEY_PATTERN" "$CONFIG_JSON" | key_like || true)
if [[ -n $config_hits ]]; then
  kind_found["key-like strings in the image config"]=1
  while IFS= read -r hit; do scan_hits+=("image config: key-like string: $(mask "$hit")"); done <<<"$config_hits"
fi
for decoy in "$DECOY_MASTER" "$DECOY_TG" "$DECOY_SK"; do
  if grep -q -F -e "$decoy" "$CONFIG_JSON"; then
    kind_found["decoy secrets in the image config"]=1
    scan_hits+=("image config: decoy secret from the build context")
  fi
done
SCAN_MS=$(( $(now_ms) - t0 ))
info "scanned ${#LAYER_TARS[@]} layers, $total_files entries, $(human "$total_bytes") of layer tars + the image config/history, in $(( SCAN_MS / 1000 ))s"
info "file names checked: .env*, *.db, *.db-wal/-shm/-journal, *.sqlite, *.cpuprofile, *.heapsnapshot, run/secrets/, app test/ bench/ data/ .git/, node_modules/{${DEV_PACKAGES//|/,}}"
info "contents checked: tg-…(30+), sk-…(20+), TOLLGATE_MASTER_KEY=<value>, AKIA…, PRIVATE KEY blocks, and the 3 decoy values planted in the context"
if [[ $ignored_words -gt 0 ]]; then
  info "$ignored_words pattern match(es) ignored as single-class words (not random keys), e.g.:"
  printf '%s\n' "${ignored_examples[@]:0:5}" | cut -c1-110 | sed 's/^/container-check:         | /'
fi
if [[ ${#scan_hits[@]} -eq 0 ]]; then
  ok "no layer holds a .env file, a database, a dev-only package, a planted decoy or a key-like string"
else
  kinds=()
  [[ ${#dev_found[@]} -eq 0 ]] || kinds+=("dev-only packages $(printf '%s\n' "${!dev_found[@]}" | sort | tr '\n' ' ' | sed 's/ $//')")
  for k in "${!kind_found[@]}"; do kinds+=("$k"); done
  bad "layer scan: $(printf '%s, ' "${kinds[@]}" | sed 's/, $//')" "$(printf '%s\n' "${scan_hits[@]}" | head -40)"
fi
PROD_PACKAGES=$(timeout 60 buildah run --isolation chroot "$CTR" ls node_modules 2>/dev/null | tr '\n' ' ' || true)
info "node_modules in the image: $PROD_PACKAGES"
# Both stores' migrations: a replica on Postgres (deploy/compose.yaml) applies drizzle-pg/ at startup.
for journal in drizzle/meta/_journal.json drizzle-pg/meta/_journal.json; do
  if timeout 60 buildah run --isolation chroot "$CTR" ls "$journal" >/dev/null 2>&1; then ok "migrations in the image: $journal"
  else bad "migrations missing from the image: $journal"; fi
done

# ------------------------------------------------------------------------------------------------
section "gateway"
nul_list() { # podman inspect template -> NUL-separated words; drops the newline podman adds at the end
  podman image inspect --format "$1" "$IMAGE" | head -c -1
}
mapfile -d '' -t START_CMD < <(nul_list '{{range .Config.Entrypoint}}{{printf "%s\x00" .}}{{end}}{{range .Config.Cmd}}{{printf "%s\x00" .}}{{end}}')
info "start command (ENTRYPOINT + CMD): ${START_CMD[*]}"
# Chroot isolation shares the host's network: the gateway listens on a host port. A free one is
# picked (not 8080, which a developer's own gateway or demo may want meanwhile) unless
# CONTAINER_CHECK_PORT says otherwise; the image's HEALTHCHECK must follow TOLLGATE_PORT.
PORT=${CONTAINER_CHECK_PORT:-$(free_port)}
if ! port_free "$PORT"; then bad "port $PORT is in use on this host"; finish; fi
info "port $PORT (chroot isolation shares the host's network; TOLLGATE_PORT=$PORT)"

run_bg() { # log-file, then buildah run arguments; sets BG_PID (= its process group)
  local log=$1; shift
  setsid buildah run --isolation chroot "$@" >"$log" 2>&1 &
  BG_PID=$!
  BG_PGIDS+=("$BG_PID")
}
forget_bg() { # pid: its process group is gone, never signal that number again
  local keep=() p
  for p in "${BG_PGIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  BG_PGIDS=("${keep[@]}")
}
stop_bg() { # pid, seconds -> stops the whole process group with SIGTERM, then SIGKILL; sets STOP_MS
  local pid=$1 limit=$2 t
  t=$(now_ms)
  kill -TERM -- "-$pid" 2>/dev/null || true
  while kill -0 -- "-$pid" 2>/dev/null && (( $(now_ms) - t < limit * 1000 )); do sleep 0.1; done
  STOP_MS=$(( $(now_ms) - t ))
  if kill -0 -- "-$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    STOP_MS=-1
    sleep 0.5
  fi
  wait "$pid" 2>/dev/null || true
  forget_bg "$pid"
}

# What `buildah run` itself costs here (set-up and tear-down of the chroot), to read the start time against.
t0=$(now_ms)
timeout 60 buildah run --isolation chroot "$CTR" true >/dev/null 2>&1 || true
RUN_OVERHEAD_MS=$(( $(now_ms) - t0 ))
MASTER_KEY=$(random_alnum 40)
# Started the way docs/container.md says: master key from the environment, a config file mounted
# read-only whose provider key is a ${VAR} reference, data in /data.
PROVIDER_KEY=sk-check-$(random_alnum 40)
cat >"$WORK/tollgate.yaml" <<'YAML'
providers:
  local:
    type: openai
    base_url: http://127.0.0.1:9/v1
    api_key: ${CHECK_PROVIDER_KEY}
aliases:
  fast: local:check-model
pricing:
  local:check-model:
    input_per_million: 1
    output_per_million: 2
YAML
chmod 0644 "$WORK/tollgate.yaml"
info "TOLLGATE_MASTER_KEY: 40 random characters made for this run; config file mounted read-only at /etc/tollgate/tollgate.yaml (provider api_key: \${CHECK_PROVIDER_KEY})"
t0=$(now_ms)
run_bg "$WORK/gateway.log" --env "TOLLGATE_MASTER_KEY=$MASTER_KEY" --env "TOLLGATE_PORT=$PORT" \
  --volume "$WORK/tollgate.yaml:/etc/tollgate/tollgate.yaml:ro" --env TOLLGATE_CONFIG=/etc/tollgate/tollgate.yaml \
  --env "CHECK_PROVIDER_KEY=$PROVIDER_KEY" "$CTR" "${START_CMD[@]}"
GW=$BG_PID
answer="000"
while (( $(now_ms) - t0 < START_TIMEOUT * 1000 )); do
  answer=$(http_get "http://127.0.0.1:$PORT/health")
  [[ $answer == 200* ]] && break
  kill -0 "$GW" 2>/dev/null || break
  sleep 0.05
done
START_MS=$(( $(now_ms) - t0 ))
if [[ $answer == 200* ]]; then
  ok "GET /health -> ${answer%% *} ${answer#* } (started in ${START_MS} ms from launch to first 200; \`buildah run true\` alone takes ${RUN_OVERHEAD_MS} ms here)"
  [[ $answer == *'"status":"ok"'* ]] || bad "/health answered 200 without {\"status\":\"ok\"}: ${answer#* }"
  GW_RUNNING=1
else
  if kill -0 "$GW" 2>/dev/null; then
    bad "the gateway did not answer /health with 200 within ${START_TIMEOUT}s (last: $answer)" "$(tail -15 "$WORK/gateway.log")"
  else
    bad "the gateway exited before answering /health" "$(tail -15 "$WORK/gateway.log")"
  fi
  GW_RUNNING=0
fi
sed 's/^/container-check:         gateway> /' "$WORK/gateway.log" | grep -v -F -e "$MASTER_KEY" -e "$PROVIDER_KEY" | head -5 || true

if [[ $GW_RUNNING -eq 1 ]]; then
  # The console's bundle is built by Bun inside the image, from its production dependencies.
  ui_js=$(http_get "http://127.0.0.1:$PORT/ui/assets/app.js")
  if [[ $ui_js == 200* && ${#ui_js} -gt 10000 ]]; then
    ok "GET /ui/assets/app.js -> 200 (${#ui_js} bytes, bundled in the container)"
  else
    bad "the console's bundle is not served from the image: GET /ui/assets/app.js -> ${ui_js:0:200}"
  fi

  DB_LS=$(timeout 60 buildah run --isolation chroot "$CTR" ls -ln /data 2>&1 | grep -E 'tollgate\.db$' || true)
  if [[ $DB_LS =~ ^[-rwx]+[[:space:]]+[0-9]+[[:space:]]+([0-9]+) && ${BASH_REMATCH[1]} != 0 ]]; then
    ok "database created in the volume as uid ${BASH_REMATCH[1]}: /data/tollgate.db"
  else
    bad "no /data/tollgate.db owned by the image user while the gateway runs (${DB_LS:-none})"
  fi

  mapfile -d '' -t HC < <(nul_list '{{if .Config.Healthcheck}}{{range .Config.Healthcheck.Test}}{{printf "%s\x00" .}}{{end}}{{end}}')
  if [[ ${#HC[@]} -lt 2 || ${HC[0]} == NONE ]]; then
    bad "the image has no HEALTHCHECK (build with --format docker keeps it)"
    HC_CMD=()
  elif [[ ${HC[0]} == CMD-SHELL ]]; then
    HC_CMD=(/bin/sh -c "${HC[1]}")
  else
    HC_CMD=("${HC[@]:1}")
  fi
  if [[ ${#HC_CMD[@]} -gt 0 ]]; then
    info "HEALTHCHECK: ${HC[*]}"
    t1=$(now_ms)
    hc_rc=0
    timeout 60 buildah run --isolation chroot --env "TOLLGATE_PORT=$PORT" "$CTR" "${HC_CMD[@]}" >"$WORK/hc.log" 2>&1 || hc_rc=$?
    if [[ $hc_rc -eq 0 ]]; then
      ok "HEALTHCHECK command exits 0 while the gateway runs ($(( $(now_ms) - t1 )) ms)"
    else
      bad "HEALTHCHECK command exits $hc_rc while the gateway runs" "$(tail -5 "$WORK/hc.log")"
    fi
  fi

  stop_bg "$GW" 15
  if [[ $STOP_MS -ge 0 ]]; then
    ok "gateway stopped on SIGTERM in ${STOP_MS} ms"
  else
    bad "the gateway did not stop within 15s of SIGTERM (killed)"
  fi
  if [[ ${#HC_CMD[@]} -gt 0 ]]; then
    hc_rc=0
    timeout 60 buildah run --isolation chroot --env "TOLLGATE_PORT=$PORT" "$CTR" "${HC_CMD[@]}" >"$WORK/hc.log" 2>&1 || hc_rc=$?
    if [[ $hc_rc -ne 0 ]]; then
      ok "HEALTHCHECK command exits $hc_rc once the gateway is stopped (it really checks)"
    else
      bad "HEALTHCHECK command exits 0 with no gateway running"
    fi
  fi
else
  stop_bg "$GW" 5
fi

if grep -q -F -e "$MASTER_KEY" -e "$PROVIDER_KEY" "$WORK/gateway.log"; then
  bad "the gateway printed its master key or the provider key"
else
  ok "the gateway's output holds neither the master key nor the provider key"
fi

refuses() { # label, then extra buildah run arguments
  local label=$1; shift
  local port rc
  port=$(free_port)
  t1=$(now_ms)
  run_bg "$WORK/refuse.log" --env "TOLLGATE_PORT=$port" "$@" "$CTR" "${START_CMD[@]}"
  local pid=$BG_PID
  while kill -0 "$pid" 2>/dev/null && (( $(now_ms) - t1 < 30000 )); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    stop_bg "$pid" 5
    bad "the gateway kept running $label (no exit within 30s)" "$(tail -5 "$WORK/refuse.log")"
    return
  fi
  rc=0; wait "$pid" || rc=$?
  forget_bg "$pid"
  local msg
  # (buildah adds "subprocess exited with status N" and "Error: exit status N" after the gateway's own lines)
  msg=$(grep -v -E '^$|^subprocess exited with status|^Error: exit status' "$WORK/refuse.log" | tail -4)
  if [[ $rc -ne 0 && $msg == *[Mm][Aa][Ss][Tt][Ee][Rr]* ]]; then
    ok "refuses to start $label: exit $rc" 
    printf '%s\n' "$msg" | sed 's/^/container-check:         gateway> /'
  else
    bad "start $label: exit $rc, expected non-zero with a message about the master key" "$msg"
  fi
}
refuses "without TOLLGATE_MASTER_KEY"
refuses "with a 31-character TOLLGATE_MASTER_KEY" --env "TOLLGATE_MASTER_KEY=$(random_alnum 31)"

# ------------------------------------------------------------------------------------------------
section "size"
SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
BASE_SIZE=$(podman image inspect --format '{{.Size}}' "$BASE_REF")
info "image $IMAGE: $(human "$SIZE") ($SIZE bytes); base $BASE_REF: $(human "$BASE_SIZE"); tollgate's own layers: $(human $((SIZE - BASE_SIZE)))"

finish

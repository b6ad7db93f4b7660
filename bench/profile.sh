#!/usr/bin/env bash
# Profiles the gateway under load: mock provider + gateway (all governance on) with `bun --cpu-prof`,
# wrk at the given concurrency (64 unless told) on chat JSON or SSE for 6 s, then a summary of where the CPU went.
#   bench/profile.sh [stream=false] [concurrency=64]
set -euo pipefail
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
STREAM=${1:-false}
CONC=${2:-64}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
master="profile-master-$(date +%s%N)-0123456789abcdef"

$BUN test/support/mock-provider.ts --port 9941 --chunks 20 > "$dir/mock.log" 2>&1 &
echo '{"providers":{"mock":{"type":"openai","base_url":"http://127.0.0.1:9941/v1","api_key":"sk-profile"}},"pricing":{"mock:gpt-mock":{"input_per_million":1,"output_per_million":2}}}' > "$dir/cfg.json"
TOLLGATE_MASTER_KEY=$master TOLLGATE_DB=$dir/p.db TOLLGATE_PORT=9942 TOLLGATE_CONFIG=$dir/cfg.json TOLLGATE_RATE_LIMIT_PER_MIN=60000000 \
  $BUN --cpu-prof --cpu-prof-dir="$dir" src/index.ts > "$dir/gw.log" 2>&1 &
gw=$!
for _ in $(seq 100); do curl -sf localhost:9942/health > /dev/null && break; sleep 0.1; done
curl -sf -XPOST localhost:9942/v1/users -H "authorization: Bearer $master" -H 'content-type: application/json' -d '{"id":"p"}' > /dev/null
key=$(curl -sf -XPOST localhost:9942/v1/keys -H "authorization: Bearer $master" -H 'content-type: application/json' -d '{"user_id":"p"}' \
  | $BUN -e 'console.log(JSON.parse(await Bun.stdin.text()).key)')
BENCH_KEY=$key BENCH_BODY="{\"model\":\"mock:gpt-mock\",\"stream\":$STREAM,\"messages\":[{\"role\":\"user\",\"content\":\"Write one short sentence about toll gates.\"}],\"max_tokens\":64}" \
  wrk -t$(( CONC < 2 ? 1 : 2 )) -c$CONC -d6s -s bench/post.lua http://127.0.0.1:9942/v1/chat/completions | grep -E 'Requests/sec|Non-2xx'
kill -TERM $gw; wait $gw || true
$BUN bench/profile-summary.ts "$dir"/*.cpuprofile
cp "$dir"/*.cpuprofile /tmp/last.cpuprofile 2>/dev/null || true

#!/usr/bin/env bash
# Runs a test suite in two lanes (README, "Testing"): the files named *.alone.* one at a time, then every other file
# spread over the machine's cores (bun's --parallel), the slowest first by the durations in test/timings.json.
# An alone file measures time or memory against a bound that a second test process on the same cores would break.
#
#   scripts/test.sh <per-test timeout ms> [files…]    no files: every *.test.ts, as `bun test` finds them
#
# Both lanes always run; the exit code is non-zero if either failed. TOLLGATE_TEST_TIMINGS=update records the
# parallel lane's durations into test/timings.json (an entry per file; a file without one is started first).
set -uo pipefail
cd "$(dirname "$0")/.."

timeout=$1
shift
bun=node_modules/.bin/bun
timings=(--timings=test/timings.json)
[ "${TOLLGATE_TEST_TIMINGS:-}" = update ] && timings+=(--update-timings)

if [ $# -eq 0 ]; then
  alone=(.alone.)
else
  alone=()
  for file in "$@"; do [[ $file == *.alone.* ]] && alone+=("$file"); done
fi

status=0
if [ ${#alone[@]} -gt 0 ]; then
  "$bun" test --timeout "$timeout" "${alone[@]}" || status=1
fi
"$bun" test --timeout "$timeout" --parallel "${timings[@]}" --path-ignore-patterns='**/*.alone.*' "$@" || status=1
exit "$status"

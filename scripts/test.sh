#!/usr/bin/env bash
# Runs a test suite in two lanes (README, "Testing"): the files named *.alone.* one at a time, then every other file
# in bun's --parallel workers, the slowest first by the durations in test/timings.json. An alone file measures time
# or memory against a bound that a second test process on the same cores would break. The others mostly wait (on
# their gateways, engines and timers: two workers kept 1.2 of 2 cores busy), so there is a worker more than cores;
# TOLLGATE_TEST_WORKERS sets another number.
#
#   scripts/test.sh <per-test timeout ms> [test files…]    no files: every *.test.ts, as `bun test` finds them
#
# Each lane with files to run runs, whatever the other's result; the exit code is non-zero if either failed. For a
# name filter or other flags, run `bun test` itself. TOLLGATE_TEST_TIMINGS=update records the parallel lane's
# durations into test/timings.json (an entry per file; a file without one is started first).
set -uo pipefail
cd "$(dirname "$0")/.."
trap 'exit 130' INT TERM

timeout=${1:?usage: scripts/test.sh <per-test timeout ms> [test files…]}
shift
bun=node_modules/.bin/bun
workers=${TOLLGATE_TEST_WORKERS:-$(($(nproc) + 1))}
timings=(--timings=test/timings.json)
[ "${TOLLGATE_TEST_TIMINGS:-}" = update ] && timings+=(--update-timings)

alone=()
others=()
for file in "$@"; do
  if [[ $file == *.alone.* ]]; then alone+=("$file"); else others+=("$file"); fi
done
if [ $# -eq 0 ]; then alone=(.alone.); fi # a filter: every *.alone.test.ts bun finds

# Each lane ends with a line of its own: bun's counts are the last ones before it (.ci/run adds them up), whatever
# counts a test printed before them (a nested bun test's output).
status=0
if [ ${#alone[@]} -gt 0 ]; then
  "$bun" test --timeout "$timeout" "${alone[@]}" || status=$?
  echo "scripts/test.sh: the alone lane ended"
fi
if [ $# -eq 0 ] || [ ${#others[@]} -gt 0 ]; then
  "$bun" test --timeout "$timeout" --parallel="$workers" "${timings[@]}" --path-ignore-patterns='**/*.alone.*' "${others[@]}" || status=$?
  echo "scripts/test.sh: the parallel lane ended"
fi
exit "$status"

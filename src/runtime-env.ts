/**
 * Settings the runtime reads once, when the process starts, before any of tollgate's code runs: setting
 * them from inside the gateway has no effect. So `npm start` and the container image put them in the
 * environment (test/runtime-env.test.ts checks that both carry these values), and the workers of a
 * `TOLLGATE_WORKERS` group start with them unless the environment says otherwise.
 *
 * - `BUN_CONFIG_MAX_HTTP_REQUESTS`: Bun's own cap on fetches in flight, 256 when unset; it must exceed the
 *   upstream concurrency limit by 32 (see providers/upstream-slots.ts).
 * - `BUN_JSC_useFTLJIT=0`: JavaScriptCore's fourth tier (FTL) off. Its compiled code and its compiler's
 *   memory were ~20–40 MB of the gateway's peak RSS under load (bench/run.ts: 118 MB against 135–142 MB)
 *   for no CPU per request it saved, measurably, on this workload: short request handlers that mostly call
 *   into the runtime, which the third tier (DFG) already compiles (bench/README.md, issue 15).
 */
export const RUNTIME_ENV = {
  BUN_CONFIG_MAX_HTTP_REQUESTS: '4096',
  BUN_JSC_useFTLJIT: '0',
} as const

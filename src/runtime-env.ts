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
 * - `BUN_JSC_forceRAMSize=4294967296`: JavaScriptCore sizes itself for a machine of 4 GB rather than the
 *   host's. Peak RSS under bench/run.ts's load 98–101 MB against 120–126 MB without it, the same CPU per
 *   request (ab-cpu); every size measured from 128 MB to 8 GB gave the same peak, 16 GB and the host's 24 GB did
 *   not. 4 GB: far above any heap this gateway grows to, so its collector never works as if memory were short.
 */
export const RUNTIME_ENV = {
  BUN_CONFIG_MAX_HTTP_REQUESTS: '4096',
  BUN_JSC_useFTLJIT: '0',
  BUN_JSC_forceRAMSize: '4294967296',
} as const

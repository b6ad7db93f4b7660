/**
 * The money-path fuzzer (test/fuzz-money.test.ts) on the Postgres store: the same file, unchanged, in a
 * `bun test` of its own with TOLLGATE_TEST_DATABASE_URL set (as test/engines/stores.engine.ts runs the
 * gateway suites), so its gateway settles through the Postgres ledger's batched reservations and
 * settlements. Its oracles are the SQLite run's: hold ≥ charge, charge = price × usage, one usage row per
 * upstream call, reserved back to 0, spend = Σ cost, the small budget never passed, no 5xx.
 *
 * Runs the default seed at the default concurrency and one other seed at a concurrency of 32 (the Postgres
 * batches fill up then). FUZZ_SEEDS=1,2,3 and FUZZ_CONCURRENCIES=6,32 widen it (every pair is a run).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BUN, ROOT } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

const SEEDS = (process.env.FUZZ_SEEDS ?? '').split(',').filter(Boolean)
const CONCURRENCIES = (process.env.FUZZ_CONCURRENCIES ?? '').split(',').filter(Boolean)
const RUNS: Array<{ seed: string; concurrency: string }> = SEEDS.length || CONCURRENCIES.length
  ? (SEEDS.length ? SEEDS : ['1']).flatMap((seed) => (CONCURRENCIES.length ? CONCURRENCIES : ['6']).map((concurrency) => ({ seed, concurrency })))
  : [
      { seed: '1', concurrency: '6' },
      { seed: '2', concurrency: '32' },
    ]

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

describe('the money-path fuzzer on the Postgres store', () => {
  for (const { seed, concurrency } of RUNS)
    test(`fuzz-money.test.ts, seed ${seed}, concurrency ${concurrency}`, async () => {
      const proc = Bun.spawn([BUN, 'test', '--timeout', '60000', './test/fuzz-money.test.ts'], {
        cwd: ROOT,
        env: { ...process.env, TOLLGATE_TEST_DATABASE_URL: pg.url, FUZZ_SEED: seed, FUZZ_CONCURRENCY: concurrency },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
      const summary = (out + err).split('\n').find((line) => line.startsWith('money fuzz seed')) ?? '(no summary)'
      console.log(`on Postgres: ${summary.slice(0, 400)}`)
      const failures = (out + err).split('\n').filter((line) => /^\(fail\)|^error:|^#\d+ \[|MONEY FUZZ FAILED/.test(line))
      if (code !== 0) console.error(`fuzz-money.test.ts on Postgres (seed ${seed}, concurrency ${concurrency}):\n${(out + err).slice(-6000)}`)
      expect({ seed, concurrency, code, failures }).toEqual({ seed, concurrency, code: 0, failures: [] })
    }, 120_000)
})

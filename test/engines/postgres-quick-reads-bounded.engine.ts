/**
 * The records quick reads on Postgres run on the store's main pool, the connections every hold takes
 * (src/store/postgres/quick-reads.ts): one that runs long must not keep one. Past QUICK_STATEMENT_MS Postgres ends its
 * statement and the read is asked again as a scan (the records pool, in the scans' line); a read whose caller hangs up
 * has its statement cancelled, not run on for nobody. Here a read is a pg_sleep standing for a walk of a large index.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { QUICK_STATEMENT_MS, quickReads } from '../../src/store/postgres/quick-reads'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let pool: InstanceType<typeof Bun.SQL>

beforeAll(async () => {
  pg = await startPostgres()
  pool = new Bun.SQL(await pg.database('quick_reads_bounded'), { max: 4 })
})
afterAll(async () => {
  await pool?.close()
  await pg?.destroy()
})

const sleeping = () => pool`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()`

test('a quick read past its bound is ended by Postgres and answered as a scan', async () => {
  const quick = quickReads(pool)
  const t = performance.now()
  const answer = await quick(
    (db, bound) => db.transaction(async (tx) => {
      await tx.execute(bound)
      await tx.execute(sql`SELECT pg_sleep(30)`)
      return 'quick'
    }),
    undefined,
    async () => 'scan',
  )
  const took = performance.now() - t
  expect(answer).toBe('scan')
  expect(took).toBeGreaterThanOrEqual(QUICK_STATEMENT_MS - 20)
  expect(took).toBeLessThan(QUICK_STATEMENT_MS + 1_000)
  expect((await sleeping())[0].n).toBe(0)
})

test('a quick read whose caller hangs up is cancelled in Postgres, not run on', async () => {
  const quick = quickReads(pool)
  const hangUp = new AbortController()
  let scanned = false
  // No bound: only the hang-up stops it.
  const read = quick(
    (db) => db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_sleep(30)`)
      return 'quick'
    }),
    hangUp.signal,
    async () => ((scanned = true), 'scan'),
  )
  await Bun.sleep(200)
  expect((await sleeping())[0].n).toBe(1)
  hangUp.abort()
  await expect(read).rejects.toMatchObject({ status: 499 })
  for (let i = 0; i < 50 && (await sleeping())[0].n > 0; i++) await Bun.sleep(20)
  expect((await sleeping())[0].n).toBe(0)
  expect(scanned).toBe(false)
})

test('a quick read within its bound is answered on the pool', async () => {
  const quick = quickReads(pool)
  const answer = await quick(
    (db, bound) => db.transaction(async (tx) => {
      await tx.execute(bound)
      return (await tx.execute(sql`SELECT current_setting('statement_timeout') AS bound`))[0] as { bound: string }
    }),
    undefined,
    async () => ({ bound: 'scan' }),
  )
  expect(answer).toEqual({ bound: `${QUICK_STATEMENT_MS}ms` })
})

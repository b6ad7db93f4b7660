/**
 * Mutation guard (src/store/postgres/batch.ts): BatchWriter's doc: "A batch refused for what a row holds
 * (refusesData: SQLSTATE class 22 *or 23*, integrity) … its rows go one at a time … So one bad row costs its own row at
 * most, never the ledger", and writeEach keeps "those not yet written when the database fails for another reason".
 * The existing guard (postgres-batch-one-bad-row) only ever refuses with class 22, and never fails a row for another
 * reason while the batch goes a row at a time.
 *
 * Kills:
 *   refusesData `/^2[23]/` → `/^22/` (a batch refused by a constraint, 23505, is retried whole for ever: every
 *   settlement queued behind it stays unwritten, and their holds are left for the sweeper to charge in full);
 *   writeEach's `if (!refusesData(error)) throw error` dropped (a row that meets a dropped connection while its batch
 *   goes one at a time is dropped for good: a settlement lost).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { BatchWriter, droppedRows } from '../../src/store/postgres/batch'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let sql: SQL
beforeAll(async () => {
  pg = await startPostgres()
  sql = new SQL(await pg.database('pg_guard_batch'))
  await sql`CREATE TABLE rows_written (id text PRIMARY KEY)`
  await sql`INSERT INTO rows_written VALUES ('taken')`
}, 60_000)
afterAll(async () => {
  await sql?.close()
  await pg?.destroy()
})

const insert = (rows: string[]) => sql.unsafe(`INSERT INTO rows_written SELECT json_array_elements_text($1::text::json)`, [JSON.stringify(rows)])

test('a batch Postgres refuses for a constraint (23505) writes every other row, and drops only the offending one', async () => {
  const dropped = droppedRows.count
  const errors: string[] = []
  const writer = new BatchWriter<string>((rows) => insert(rows), (e) => errors.push(String((e as Error).message)), { retry: true, what: 'settlement', retryMs: 20 })
  for (const row of ['a1', 'taken', 'a2', 'a3']) writer.push(row)
  const flushed = await Promise.race([writer.flush().then(() => 'flushed', (e) => `refused: ${(e as Error).message}`), Bun.sleep(5_000).then(() => 'still unwritten')])
  const written = (await sql`SELECT id FROM rows_written WHERE id LIKE 'a%' ORDER BY id`).map((r: { id: string }) => r.id)
  await writer.close(AbortSignal.timeout(200))
  expect({ flushed, written, dropped: droppedRows.count - dropped }).toEqual({ flushed: 'flushed', written: ['a1', 'a2', 'a3'], dropped: 1 })
})

test('a row that meets a dropped connection while its refused batch goes one at a time is kept and written, not dropped', async () => {
  const dropped = droppedRows.count
  let cut = false
  const writer = new BatchWriter<string>(
    async (rows) => {
      // The connection drops once, just as the row after the bad one goes alone.
      if (rows.length === 1 && rows[0] === 'b2' && !cut) {
        cut = true
        throw Object.assign(new Error('Connection closed'), { code: 'ERR_POSTGRES_CONNECTION_CLOSED' })
      }
      await insert(rows)
    },
    () => {},
    { retry: true, what: 'settlement', retryMs: 20 },
  )
  for (const row of ['b1', 'taken', 'b2', 'b3']) writer.push(row)
  for (let i = 0; i < 100; i++) {
    await writer.flush().catch(() => {})
    if (writer.unwritten().size === 0) break
    await Bun.sleep(20)
  }
  const written = (await sql`SELECT id FROM rows_written WHERE id LIKE 'b%' ORDER BY id`).map((r: { id: string }) => r.id)
  await writer.close(AbortSignal.timeout(200))
  expect({ cut, written, dropped: droppedRows.count - dropped }).toEqual({ cut: true, written: ['b1', 'b2', 'b3'], dropped: 1 })
})

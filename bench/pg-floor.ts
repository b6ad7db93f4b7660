/**
 * Two facts about Postgres through Bun.SQL that bound the Postgres store, on its own Postgres 15:
 *
 * 1. Which statements Bun.SQL pipelines. Five statements are sent at once on one connection, the client
 *    reads the first answer and then keeps its thread busy for 30 ms: a statement that ran ~30 ms after
 *    the first waited for the client to read the answers before it. The fourth is BEGIN-like: a statement
 *    without parameters, sent as `unsafe(text)` (the simple query protocol) or as a tagged template.
 * 2. The floor of a request at concurrency 1: one durable transaction (BEGIN, a one-row UPDATE, COMMIT,
 *    pipelined), which every hold needs before the provider is called: its p50 is what Postgres adds at the
 *    least, whatever the gateway does.
 *
 *   bench/setup.sh && bun bench/pg-floor.ts
 */
import { startPostgres } from '../test/engines/support/postgres'

const pg = await startPostgres()
const sql = new Bun.SQL(pg.url, { max: 1 })
await sql`CREATE TABLE t (id int PRIMARY KEY, v bigint)`
await sql`INSERT INTO t VALUES (1, 0)`
const c = await sql.reserve()

const busy = (ms: number) => {
  const end = performance.now() + ms
  while (performance.now() < end);
}
const CLOCK = `(extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at`
const withParam = () => c.unsafe(`SELECT ${CLOCK} WHERE $1::int = 1`, [1]).execute()
const noParams = {
  'unsafe(text), the simple protocol': () => c.unsafe(`SELECT ${CLOCK}`).execute(),
  'a tagged template': () => c`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at`.execute(),
}
for (const [name, fourth] of Object.entries(noParams)) {
  const lags: string[] = []
  for (let round = 0; round < 4; round++) {
    const sent = [withParam(), withParam(), withParam(), fourth(), withParam()]
    const first = (await sent[0]) as Array<{ at: number }>
    busy(30)
    const answers = (await Promise.all(sent)) as Array<Array<{ at: number }>>
    // The first round prepares each statement on this connection: a round trip of its own, not counted.
    if (round > 0) lags.push(answers.map((rows) => (rows[0]!.at - first[0]!.at).toFixed(1)).join(' '))
  }
  console.log(`fourth statement by ${name}: ms after the first, per statement: ${lags.join(' | ')}`)
}

const transaction = () => Promise.all([c`BEGIN`.execute(), c.unsafe('UPDATE t SET v = v + $1 WHERE id = 1', [1]).execute(), c`COMMIT`.execute()])
for (let i = 0; i < 300; i++) await transaction()
for (let run = 0; run < 3; run++) {
  const ms: number[] = []
  for (let i = 0; i < 2000; i++) {
    const start = performance.now()
    await transaction()
    ms.push(performance.now() - start)
  }
  ms.sort((a, b) => a - b)
  console.log(`a durable one-row transaction at concurrency 1: p10 ${ms[200]!.toFixed(3)} ms, p50 ${ms[1000]!.toFixed(3)} ms, p90 ${ms[1800]!.toFixed(3)} ms`)
}

c.release()
await sql.close()
await pg.destroy()

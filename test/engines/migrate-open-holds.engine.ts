/**
 * README, "Moving an existing SQLite install": stop the gateway first. A gateway serving a long stream writes
 * nothing while it runs, so the snapshot's check (a write meanwhile) found nothing: migrate exited 0 and carried
 * the stream's open hold into Postgres. The stream then settled on SQLite at its real cost (60 µUSD), and the
 * Postgres install's sweeper charged the copied hold in full as `expired` (200 µUSD), the real usage row nowhere it
 * reads. A file with a hold not yet expired is now refused, nothing written; a crashed gateway's holds are carried
 * once expired, for the new install's sweeper to charge as the old one's would have.
 */
import { afterAll, beforeAll, expect, spyOn, test } from 'bun:test'
import { SQL } from 'bun'
import { runMigrate } from '../../src/cli/migrate'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  // A stream of ~8 s: 40 chunks 200 ms apart.
  mock = startMockProvider({ completionText: longText, latencyMs: 10, chunks: 40, chunkDelayMs: 200 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

async function migrateCapturingErrors(url: string, file: string) {
  const errors = spyOn(console, 'error').mockImplementation(() => {})
  const logs = spyOn(console, 'log').mockImplementation(() => {})
  try {
    const code = await runMigrate(['--to', url, '--from', file], { PATH: process.env.PATH ?? '' })
    return { code, error: errors.mock.calls.map((call) => call.join(' ')).join('\n') }
  } finally {
    errors.mockRestore()
    logs.mockRestore()
  }
}

/** What the target holds (0 for a table not even created). */
async function copied(url: string) {
  const sql = new SQL(url)
  try {
    const [users] = await sql`SELECT count(*)::int AS n FROM users`.catch(() => [{ n: 0 }])
    const [holds] = await sql`SELECT count(*)::int AS n FROM reservations`.catch(() => [{ n: 0 }])
    return { users: users.n as number, holds: holds.n as number }
  } finally {
    await sql.close()
  }
}

const openHolds = (gw: SpawnedGateway) => Number(gw.query('SELECT count(*) AS n FROM reservations')[0].n)

/** A stream under way on `gw`, once its hold is on disk and the gateway has gone quiet (its request-log and WAL upkeep written). */
async function streamUnderWay(gw: SpawnedGateway, secret: string) {
  const stream = chat(gw.url, secret, { max_tokens: 200, stream: true, stream_options: { include_usage: true } }).then((r) => r.text()).catch(() => '')
  for (let i = 0; i < 100 && openHolds(gw) === 0; i++) await Bun.sleep(50)
  expect(openHolds(gw)).toBe(1)
  await Bun.sleep(1500)
  // In an object: an async function's result that is itself a promise would be awaited with it.
  return { stream }
}

test('migrate of a running SQLite gateway with a stream (and its hold) in flight is refused, nothing written', async () => {
  const gw = await spawnGateway({ mock, config: { pricing: PRICING } })
  const url = await pg.database('migrate_open_holds')
  try {
    const { secret } = await gw.userWithKey({ id: 'live', max_budget: 1 })
    // One request settled, so the file has some history.
    expect((await chat(gw.url, secret)).status).toBe(200)
    await gw.settled()
    const { stream } = await streamUnderWay(gw, secret)

    const { code, error } = await migrateCapturingErrors(url, gw.dbPath)
    expect({ code, copied: await copied(url) }).toEqual({ code: 1, copied: { users: 0, holds: 0 } })
    expect(error).toContain('1 open hold')
    expect(error).toContain('stop the gateway')
    expect(error).toContain('nothing was written')

    // The stream settles on SQLite at its real cost, the only place it is charged.
    await stream
    await gw.settled()
    expect(openHolds(gw)).toBe(0)
    expect(gw.query('SELECT status, cost FROM usage ORDER BY id').map((r) => r.status)).toEqual(['ok', 'ok'])
  } finally {
    await gw.stop()
  }
}, 60_000)

test("a crashed gateway's hold is refused until it has expired, and then carried for the new install's sweeper", async () => {
  const gw = await spawnGateway({ mock, config: { pricing: PRICING }, env: { TOLLGATE_RESERVATION_TTL_SEC: '4' } })
  const url = await pg.database('migrate_crashed_holds')
  try {
    const { secret } = await gw.userWithKey({ id: 'crashed', max_budget: 1 })
    const heldAt = Date.now()
    const { stream } = await streamUnderWay(gw, secret)
    gw.proc.kill('SIGKILL')
    await Promise.all([gw.proc.exited, stream])

    const refused = await migrateCapturingErrors(url, gw.dbPath)
    expect({ code: refused.code, copied: await copied(url) }).toEqual({ code: 1, copied: { users: 0, holds: 0 } })
    expect(refused.error).toContain('if it crashed, migrate after')

    await Bun.sleep(Math.max(0, heldAt + 4_500 - Date.now()))
    expect((await migrateCapturingErrors(url, gw.dbPath)).code).toBe(0)
    expect(await copied(url)).toEqual({ users: 1, holds: 1 })
    // With the tokens it was priced for, which the new install's sweeper records on its usage row.
    const [onSqlite] = gw.query('SELECT held_prompt_tokens AS prompt, held_completion_tokens AS completion FROM reservations')
    const sql = new SQL(url)
    try {
      const [onPostgres] = await sql`SELECT held_prompt_tokens::int AS prompt, held_completion_tokens::int AS completion FROM reservations`
      expect({ ...onPostgres }).toEqual({ ...onSqlite })
      expect(onSqlite.completion).toBe(200)
    } finally {
      await sql.close()
    }
  } finally {
    await gw.stop()
  }
}, 60_000)

/**
 * Replicas on one Postgres whose clocks differ: a hold expires and is swept on the database's clock, so a
 * replica whose clock runs 16 min ahead (past the 15 min hold TTL) and sweeps at startup leaves the holds
 * of another replica's live streams alone, and each stream is settled at its real cost. Before, it charged
 * all of them in full as `expired`, and the real settlements found no hold and were dropped. B also says at
 * startup that its clock is off (its own clock still dates usage rows and rolls budget periods).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, tempDir, type SpawnedGateway } from '../support/gateway'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText, latencyMs: 10 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})
beforeEach(() => mock.reset())

describe('replicas whose clocks differ', () => {
  test('a replica whose clock runs 16 min ahead does not sweep another replica\'s live holds: each stream is settled at its real cost', async () => {
    mock.options = { ...mock.options, chunks: 40, chunkDelayMs: 100 }
    const url = await pg.database(`clock_skew_${++n}`)
    const a = await spawnGateway({ mock, config: { pricing: PRICING }, env: { TOLLGATE_DATABASE_URL: url } })
    const preload = join(tempDir('tollgate-clock-skew-'), 'skew.ts')
    await Bun.write(preload, 'const real = Date.now; const off = Number(process.env.SKEW_MS ?? 0); Date.now = () => real() + off\n')
    let b: SpawnedGateway | undefined
    const sql = new Bun.SQL(url)
    try {
      const { secret } = await a.userWithKey({ id: 'skewed', max_budget: 1 })
      const streams = Array.from({ length: 4 }, async () => {
        const res = await chat(a.url, secret, { stream: true })
        return { status: res.status, done: (await res.text()).includes('[DONE]') }
      })
      const openHolds = async () => Number((await sql`SELECT count(*) AS n FROM reservations`)[0].n)
      for (let i = 0; i < 200 && (await openHolds()) < 4; i++) await Bun.sleep(10)
      expect(await openHolds()).toBe(4)
      // The second replica starts (and sweeps, as every replica does at startup) while the streams run on A.
      b = await spawnGateway({
        mock, config: { pricing: PRICING },
        env: { TOLLGATE_DATABASE_URL: url, BUN_OPTIONS: `--preload ${preload}`, SKEW_MS: String(16 * 60_000) },
      })
      const results = await Promise.all(streams)
      expect(results).toEqual(Array(4).fill({ status: 200, done: true }))
      await a.settled()
      const rows = await sql`SELECT status, cost, completion_tokens FROM usage WHERE user_id = 'skewed'`
      expect(rows.map((r: any) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok'])
      // Each stream's real cost: its 50 output tokens at 1 µ$ each (which here is also what the hold was for;
      // a swept hold is charged with no tokens).
      expect(rows.map((r: any) => [Number(r.cost), Number(r.completion_tokens)])).toEqual(Array(4).fill([50, 50]))
      expect(await openHolds()).toBe(0)
      // B said at startup that its clock is off; A did not.
      expect(b.output()).toContain("this process's clock is 960 s ahead of the database's")
      expect(a.output()).not.toContain("this process's clock")
    } finally {
      await sql.close()
      await b?.stop()
      await a.stop()
      rmSync(dirname(preload), { recursive: true, force: true })
    }
  }, 60_000)
})

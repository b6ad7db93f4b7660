/**
 * For a test file: a spawned gateway (its own process, so the request thread's hold can be read from /proc) whose
 * `prices` table holds `models` models priced `versions` times each, a version an hour apart (the newest an hour
 * ago), and a key; started before the file's tests, stopped after them.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './gateway'
import { startMockProvider, type MockProvider } from './mock-provider'
import { quietThread } from './request-thread-hold'

export function withPriceHistoryGateway(models: number, versions: number, use: (started: { gw: SpawnedGateway; secret: string }) => void): void {
  let mock: MockProvider | undefined
  let gw: SpawnedGateway | undefined
  beforeAll(async () => {
    mock = startMockProvider()
    gw = await spawnGateway({ mock })
    const db = new Database(gw.dbPath)
    db.exec('PRAGMA busy_timeout = 10000')
    const now = Date.now()
    db.query(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
       INSERT INTO prices (model, input_per_million, output_per_million, created_at, source)
       SELECT 'mock:model-' || (i % ?2), 1000000 + i, 2000000, ?3 - (?1 - i) * 3600, 'api' FROM n`,
    ).run(models * versions, models, now - 3_600_000)
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
    db.close()
    const { secret } = await gw.userWithKey({ id: 'app' })
    await quietThread(gw.proc.pid)
    use({ gw, secret })
  }, 120_000)
  afterAll(async () => {
    await gw?.stop()
    mock?.stop()
  })
}

/** A chat request of `mock:gpt-mock` with the key `secret`, for a price lookup; its status. */
export const chatStatus = (gw: SpawnedGateway, secret: string): Promise<number> =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
  }).then((r) => r.status)

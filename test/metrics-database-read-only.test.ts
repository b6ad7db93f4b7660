/**
 * A database that answers reads but takes no writes is not down: it refuses holds (503), and answers reads.
 * /metrics said `tollgate_database_up 0` then, as soon as a write
 * was queued (a request-log row: every request queues one), because the scrape flushed the queue first and took
 * its refusal for the database not answering, leaving the database-wide gauges unread. Now `tollgate_database_up`
 * says whether the reads were answered, and `tollgate_database_read_only` whether it takes no writes, as /health's
 * `database: read_only` does (the filesystem case: test/engines/sqlite-read-only-filesystem.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { createApp, createServices } from '../src/app'
import type { Services } from '../src/services'
import type { SqliteStore } from '../src/store/sqlite/store'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, tempDir, testConfig } from './support/gateway'

const dir = tempDir('tollgate-metrics-read-only-')
let mock: MockProvider
let services: Services
let app: ReturnType<typeof createApp>
beforeAll(async () => {
  mock = startMockProvider()
  services = await createServices(testConfig({ mock, config: { metrics_enabled: true } }, dir))
  app = createApp(services)
})
afterAll(async () => {
  await services.store.flush()
  services.requestLog.stop()
  services.refusals.stop()
  services.storedRetention.stop()
  await services.records.stop()
  await services.store.close()
  mock.stop()
  rmSync(dir, { recursive: true, force: true })
})

const call = (method: string, path: string, auth: string, body?: unknown) =>
  app.handle(
    new Request(`http://localhost${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  )
const scrape = async () => (await call('GET', '/metrics', MASTER_KEY)).text()
const gauge = (text: string, name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]
const takesWrites = (on: boolean) => (services.store as SqliteStore).db.$client.exec(`PRAGMA query_only = ${on ? 'OFF' : 'ON'}`)

test('reads answered, writes refused: database_up 1, database_read_only 1, the database-wide gauges read; then writes again', async () => {
  expect((await call('POST', '/v1/users', MASTER_KEY, { id: 'u', max_budget: 10 })).status).toBe(201)
  const { key } = (await (await call('POST', '/v1/keys', MASTER_KEY, { user_id: 'u' })).json()) as { key: string }
  expect(gauge(await scrape(), 'tollgate_database_up')).toBe('1')

  takesWrites(false)
  try {
    const chat = await call('POST', '/v1/chat/completions', key, { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] })
    expect(chat.status).toBe(503)
    // The records still answer.
    // Its request-log row (written after the answer) is queued behind the refusal.
    await Bun.sleep(50)
    const during = await scrape()
    expect(gauge(during, 'tollgate_database_up')).toBe('1')
    expect(gauge(during, 'tollgate_database_read_only')).toBe('1')
    expect(gauge(during, 'tollgate_reservations_open')).toBe('0')
  } finally {
    takesWrites(true)
  }

  const after = await scrape()
  expect([gauge(after, 'tollgate_database_up'), gauge(after, 'tollgate_database_read_only')]).toEqual(['1', '0'])
})

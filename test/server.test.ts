import { describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { createApp, createServices } from '../src/app'
import { configSchema } from '../src/config/schema'
import { startMockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, tempDir } from './support/gateway'
import { FIRST_STEP_ROWS } from '../src/db/maintenance'

const DAY = 86_400_000

describe('health', () => {
  test('answers 200 while the database answers, 503 once it does not', async () => {
    const services = await createServices(configSchema.parse({ master_key: MASTER_KEY, db: ':memory:' }))
    const app = createApp(services)
    const ok = await app.handle(new Request('http://localhost/health'))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ status: 'ok' })
    services.store.db.$client.close()
    const down = await app.handle(new Request('http://localhost/health'))
    expect(down.status).toBe(503)
    expect(down.headers.get('x-content-type-options')).toBe('nosniff')
  })
})

describe('request log retention', () => {
  test('rows older than the retention period are pruned, newer ones kept', async () => {
    const services = await createServices(configSchema.parse({ master_key: MASTER_KEY, db: ':memory:', audit_retention_days: 30 }))
    const now = Date.now()
    const insert = services.store.db.$client.prepare(
      "INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms) VALUES (?, ?, 'GET', '/v1/x', 200, 1)",
    )
    insert.run(now - 31 * DAY, 'old')
    insert.run(now - 29 * DAY, 'recent')
    expect(await services.requestLog.pruneOld(now)).toBe(1)
    expect(services.store.db.$client.query('SELECT request_id FROM api_request_log').all()).toEqual([{ request_id: 'recent' }])
    services.requestLog.stop()
  })

  test('a large prune deletes in batches, handing the thread back between them', async () => {
    const dir = tempDir()
    const services = await createServices(configSchema.parse({ master_key: MASTER_KEY, db: join(dir, 'prune.db'), audit_retention_days: 30 }))
    try {
      const now = Date.now()
      const db = services.store.db.$client
      const ROWS = 25_000
      db.query(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms) SELECT ?2 - i, 'old-' || i, 'GET', '/v1/x', 200, 1 FROM n`,
      ).run(ROWS, now - 31 * DAY)
      const count = () => db.query<{ n: number }, []>('SELECT count(*) AS n FROM api_request_log').get()!.n
      const pruning = services.requestLog.pruneOld(now)
      // Control is back here after the first step: the rest is still to go.
      expect(count()).toBe(ROWS - FIRST_STEP_ROWS)
      expect(await pruning).toBe(ROWS)
      expect(count()).toBe(0)
    } finally {
      services.requestLog.stop()
      await services.store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('long upstream calls', () => {
  test("a completion slower than the server's idle timeout is not cut", async () => {
    const mock = startMockProvider({ latencyMs: 2_500 })
    // The listener drops connections silent for 1 s; the chat route switches that off for its request.
    const gw = await startTestGateway({ mock, idleTimeoutSec: 1 })
    try {
      const { secret } = await gw.userWithKey({ id: 'patient' })
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'take your time' }] }),
      })
      expect(res.status).toBe(200)
      expect(((await res.json()) as any).choices[0].message.content).toBe('Hello from the mock provider.')
    } finally {
      await gw.stop()
      await mock.stop()
    }
  })
})

describe('stopping', () => {
  test('a connection that sent a body nobody read does not keep a clean stop waiting', async () => {
    // Refused before its body is read (no key): without the forced close, every other such stop waited
    // for Bun's 30 s idle timeout. Two rounds, to meet both cases.
    const body = JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'a'.repeat(1_000_000) }] })
    for (let round = 0; round < 2; round++) {
      const gw = await startTestGateway()
      const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      expect(res.status).toBe(401)
      await res.text()
      const started = performance.now()
      await gw.stop()
      expect(performance.now() - started).toBeLessThan(5_000)
    }
  })
})

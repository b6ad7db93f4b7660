/**
 * With Postgres stopped, /metrics still answers (200) with the process's own counters — the 503s it is serving
 * among them — and says the database did not answer (`tollgate_database_up 0`), the database-wide gauges as last
 * read. It once answered 503 itself, so a scraper saw a gateway down as if the process were gone.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { MASTER_KEY, spawnGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

const chat = (url: string, secret: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }),
  })

test('with Postgres stopped, /metrics still answers with the in-process counters (the 503s it served)', async () => {
  const url = await pg.database('metrics_down')
  const gw = await spawnGateway({ mock, config: { metrics_enabled: true }, env: { TOLLGATE_DATABASE_URL: url } })
  try {
    const { secret } = await gw.userWithKey({ id: 'watched', max_budget: 1 })
    expect((await chat(gw.url, secret)).status).toBe(200)
    await gw.settled()
    expect((await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).status).toBe(200)
    await pg.stop()
    try {
      const during = await Promise.all(Array.from({ length: 5 }, () => chat(gw.url, secret)))
      expect(during.map((r) => r.status)).toEqual(Array(5).fill(503))
      const started = performance.now()
      const scrape = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })
      const text = await scrape.text()
      const ms = performance.now() - started
      expect({ status: scrape.status, ms: ms < 10_000 }).toEqual({ status: 200, ms: true })
      expect(text).toMatch(/tollgate_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="503"\} 5\n/)
      expect(text).toContain('tollgate_database_up 0\n')
    } finally {
      await pg.start()
    }
    // Back: the next scrapes read the database again.
    let back = ''
    for (const until = Date.now() + 15_000; !back.includes('tollgate_database_up 1\n') && Date.now() < until; await Bun.sleep(200))
      back = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()
    expect(back).toContain('tollgate_database_up 1\n')
  } finally {
    await gw.stop()
  }
})

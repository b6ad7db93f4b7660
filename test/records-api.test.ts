/**
 * The record lists' queries: unknown parameters are refused rather than ignored, a model filter takes the
 * names a client uses, and the usage summary is complete and paginated at any table size.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { execPostgres } from './support/test-store'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

const chat = (model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'record me' }], max_tokens: 10 }),
  })

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      aliases: { fast: 'mock:gpt-mock' },
      pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:other': { input_per_million: 5, output_per_million: 5 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'carol', max_budget: 10 })).secret
  for (const model of ['mock:gpt-mock', 'fast', 'mock/gpt-mock', 'mock:other']) expect((await chat(model)).status).toBe(200)
  await gw.settled()
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

describe('unknown query parameters are refused', () => {
  test.each([
    ['/v1/usage?user=nobody', 'user'],
    ['/v1/usage/summary?user=nobody', 'user'],
    ['/v1/audit?user=nobody', 'user'],
    ['/v1/users/carol/usage?user_id=nobody', 'user_id'],
    ['/v1/usage?user_id=carol&modle=mock:other', 'modle'],
  ])('%s → 400 naming the parameter', async (path, name) => {
    const res = await gw.admin('GET', path)
    expect(res.status).toBe(400)
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' })
    expect(res.body.error.message).toContain(`"${name}"`)
  })

  test('the known filters still filter', async () => {
    expect((await gw.admin('GET', '/v1/usage?user_id=nobody')).body.data).toEqual([])
    expect((await gw.admin('GET', '/v1/audit?user_id=nobody')).body.data).toEqual([])
    expect((await gw.admin('GET', '/v1/usage/summary?user_id=nobody')).body.totals.requests).toBe(0)
  })
})

describe('?model= takes the names a client calls a model by', () => {
  test('provider:model, provider/model and an alias filter usage and the summary alike', async () => {
    const ids = async (model: string) => (await gw.admin('GET', `/v1/usage?model=${encodeURIComponent(model)}`)).body.data.map((r: any) => r.id)
    const canonical = await ids('mock:gpt-mock')
    expect(canonical).toHaveLength(3)
    expect(await ids('mock/gpt-mock')).toEqual(canonical)
    expect(await ids('fast')).toEqual(canonical)
    expect(await ids('mock/other')).toHaveLength(1)
    for (const model of ['fast', 'mock/gpt-mock'])
      expect((await gw.admin('GET', `/v1/usage/summary?model=${encodeURIComponent(model)}`)).body.totals.requests).toBe(3)
    expect((await gw.admin('GET', '/v1/users/carol/usage?model=fast')).body.totals.requests).toBe(3)
  })
})

describe('GET /v1/usage/summary at any size', () => {
  const EXTRA = 10_050

  beforeAll(() => {
    // More groups than any fixed cap: one user per row, all today, written straight into the table.
    if (gw.databaseUrl)
      return execPostgres(
        gw.databaseUrl,
        `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
         SELECT 'bulk-' || i, ${Date.now()}, 'bulk-' || lpad(i::text, 5, '0'), NULL, 'mock:bulk', 'mock', '/v1/chat/completions', 1, 1, 3, 3, 'ok'
         FROM generate_series(0, ${EXTRA - 1}) AS i`,
      )
    const db = new Database(gw.dbPath)
    db.exec('PRAGMA busy_timeout = 5000')
    const insert = db.prepare(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
       VALUES (?, ?, ?, NULL, 'mock:bulk', 'mock', '/v1/chat/completions', 1, 1, 3, 3, 'ok')`,
    )
    const now = Date.now()
    db.transaction(() => {
      for (let i = 0; i < EXTRA; i++) insert.run(`bulk-${i}`, now, `bulk-${String(i).padStart(5, '0')}`)
    })()
    db.close()
  })

  test('?limit pages the grouped rows; walking every page sums to the totals', async () => {
    const first = (await gw.admin('GET', '/v1/usage/summary?limit=10')).body
    expect(first.data).toHaveLength(10)
    expect(first.next_cursor).toEqual(expect.any(String))
    expect(first.totals.requests).toBe(EXTRA + 4)

    const seen = new Set<string>()
    let requests = 0
    let cost = 0
    let cursor: string | null = null
    let pages = 0
    do {
      const page: any = (await gw.admin('GET', `/v1/usage/summary?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).body
      expect(page.data.length).toBeLessThanOrEqual(1000)
      for (const r of page.data) {
        seen.add(`${r.day}|${r.user_id}|${r.model}`)
        requests += r.requests
        cost += r.cost
      }
      cursor = page.next_cursor
      pages++
    } while (cursor && pages < 50)
    expect(cursor).toBeNull()
    expect(seen.size).toBe(EXTRA + 2) // the bulk users, and carol's two models
    expect(requests).toBe(first.totals.requests)
    expect(cost).toBeCloseTo(first.totals.cost, 9)
  })

  test('filters hold across pages; a cursor this API did not make → 400', async () => {
    const bulk = (await gw.admin('GET', '/v1/usage/summary?model=mock:bulk&limit=1000&offset=10000')).body
    expect(bulk.data).toHaveLength(50)
    expect(bulk.data.every((r: any) => r.model === 'mock:bulk')).toBe(true)
    expect(bulk.totals.requests).toBe(EXTRA)
    expect((await gw.admin('GET', '/v1/usage/summary?cursor=not-a-cursor')).status).toBe(400)
    expect((await gw.admin('GET', `/v1/usage/summary?cursor=${Buffer.from('{"a":1}').toString('base64url')}`)).status).toBe(400)
  })
})

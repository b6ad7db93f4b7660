/**
 * `?cursor=` (empty) is refused with a 400 on every list, as any cursor this API did not return is: no page's
 * next_cursor is empty (the last one's is null). Before, the id-keyed lists (/v1/usage, /v1/audit,
 * /v1/pricing/history, /v1/users/{id}/usage, /v1/key/usage) read it as Number('') = 0 and answered "rows with
 * an id below 0": an empty page with next_cursor null, which a client reads as "there are no rows". users,
 * keys and pricing read it as no cursor (the first page); alerts and the summary refused it. Runs on Postgres
 * too (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let keySecret: string
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  const { secret } = await gw.userWithKey({ id: 'ec-a' })
  keySecret = secret
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(200)
  await res.text()
  await gw.settled()
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test.each(['/v1/usage', '/v1/audit', '/v1/pricing/history', '/v1/users/ec-a/usage'])(
  '%s?cursor= is the first page or a 400, not an empty last page',
  async (path) => {
    const first = await gw.admin('GET', path)
    expect(first.status).toBe(200)
    expect(first.body.data.length).toBeGreaterThan(0)
    const empty = await gw.admin('GET', `${path}?cursor=`)
    if (empty.status === 400) return
    // The first page (the request log has grown by the requests since: its newest rows may be newer).
    expect(empty.body.data.length).toBeGreaterThan(0)
    expect(empty.body.data[0].id).toBeGreaterThanOrEqual(first.body.data[0].id)
  },
)

test("/v1/key/usage?cursor= (a key's own usage) is the first page or a 400, not an empty last page", async () => {
  const get = (q: string) => fetch(`${gw.url}/v1/key/usage${q}`, { headers: { authorization: `Bearer ${keySecret}` } })
  const first = await get('')
  expect(first.status).toBe(200)
  expect(((await first.json()) as any).data.length).toBeGreaterThan(0)
  const empty = await get('?cursor=')
  if (empty.status === 400) return
  expect(((await empty.json()) as any).data.length).toBeGreaterThan(0)
})

// One rule for every list: an empty cursor is refused, naming it.
test.each([
  '/v1/users',
  '/v1/keys',
  '/v1/pricing',
  '/v1/pricing/history',
  '/v1/alerts',
  '/v1/usage',
  '/v1/usage/summary',
  '/v1/audit',
  '/v1/users/ec-a/usage',
])('%s?cursor= is refused with a 400 naming the cursor', async (path) => {
  const r = await gw.admin('GET', `${path}?cursor=`)
  expect(r.status).toBe(400)
  expect(r.body.error.message).toContain('cursor: is not one this API returned')
})

test("/v1/key/usage?cursor= is refused with a 400 naming the cursor", async () => {
  const res = await fetch(`${gw.url}/v1/key/usage?cursor=`, { headers: { authorization: `Bearer ${keySecret}` } })
  expect(res.status).toBe(400)
  expect(((await res.json()) as any).error.message).toContain('cursor: is not one this API returned')
})

// What Number() reads as an id but no page writes: a blank (0), hex, an exponent, a sign.
test.each([' ', '0x1f', '1e3', '+5', '5.0'])('/v1/usage?cursor=%p (not an id as a page writes one) is refused', async (cursor) => {
  const r = await gw.admin('GET', `/v1/usage?cursor=${encodeURIComponent(cursor)}`)
  expect(r.status).toBe(400)
  expect(r.body.error.message).toContain('cursor: is not one this API returned')
})

test('a next_cursor the API returned still pages on', async () => {
  const first = await gw.admin('GET', '/v1/audit?limit=1')
  expect(first.body.next_cursor).toMatch(/^\d+$/)
  const second = await gw.admin('GET', `/v1/audit?limit=1&cursor=${first.body.next_cursor}`)
  expect(second.status).toBe(200)
  expect(second.body.data[0].id).toBeLessThan(first.body.data[0].id)
})

/**
 * An admin list filtered by an empty value (`?user_id=`, `?key_id=`, a script's unset variable) never answers
 * with every row: the value is refused with a 400 naming the field, as an unknown parameter is ("a misspelt
 * filter must not answer with every row", README). Before, the routes tested the filter's truthiness, so the
 * empty string was no filter at all, and /v1/usage/csv?user_id= exported everyone's usage. Runs on Postgres
 * too (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  for (const id of ['ef-a', 'ef-b']) {
    const { secret } = await gw.userWithKey({ id })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  }
  await gw.settled()
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

/** Refused (400), or answered with no row: never every row. */
const nothingOrRefused = (r: { status: number; body: any }) => (r.status === 400 ? 'refused' : r.body.data.length === 0 ? 'nothing' : `${r.body.data.length} rows`)

test.each([
  '/v1/keys?user_id=',
  '/v1/usage?user_id=',
  '/v1/usage?key_id=',
  '/v1/usage/summary?user_id=',
  '/v1/audit?user_id=',
])('%s lists no row (or is refused), not every row', async (path) => {
  const r = await gw.admin('GET', path)
  expect(nothingOrRefused(r)).toMatch(/^(refused|nothing)$/)
})

test('/v1/usage/csv?user_id= exports no row (or is refused), not every row', async () => {
  const res = await fetch(`${gw.url}/v1/usage/csv?user_id=`, { headers: gw.master })
  const lines = (await res.text()).trim().split('\r\n')
  expect(res.status === 400 || lines.length === 1).toBe(true)
})

// Every string filter, on every route that takes it: refused with a 400 that names it.
test.each([
  ['/v1/keys', 'user_id'],
  ...['user_id', 'key_id', 'model'].flatMap((f) => ['/v1/usage', '/v1/usage/csv', '/v1/usage/summary', '/v1/usage/daily'].map((r) => [r, f])),
  ['/v1/users/ef-a/usage', 'key_id'],
  ['/v1/users/ef-a/usage', 'model'],
  ...['user_id', 'key_id', 'method', 'route', 'client_ip'].map((f) => ['/v1/audit', f]),
  ['/v1/pricing/history', 'model'],
])('%s?%s= is refused with a 400 naming the field', async (route, field) => {
  const r = await gw.admin('GET', `${route}?${field}=`)
  expect(r.status).toBe(400)
  expect(r.body.error.message).toContain(`${field}: must not be empty`)
})

test("/v1/key/usage?model= (a key's own usage) is refused with a 400 naming the field", async () => {
  const { secret } = await gw.userWithKey({ id: 'ef-c' })
  const res = await fetch(`${gw.url}/v1/key/usage?model=`, { headers: { authorization: `Bearer ${secret}` } })
  expect(res.status).toBe(400)
  expect(((await res.json()) as any).error.message).toContain('model: must not be empty')
})

test('a filter with a value still filters', async () => {
  const r = await gw.admin('GET', '/v1/usage?user_id=ef-a')
  expect(r.status).toBe(200)
  expect(r.body.data.map((u: any) => u.user_id)).toEqual(['ef-a'])
  const keys = await gw.admin('GET', '/v1/keys?user_id=ef-b')
  expect(keys.body.data.map((k: any) => k.user_id)).toEqual(['ef-b'])
})

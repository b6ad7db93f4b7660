/**
 * A NUL in what a request names, on the SQLite store: answered as on Postgres (test/engines/postgres-nul-*.engine.ts),
 * where no text can hold one. A model name with a control character is unknown (404); the user the master key
 * bills and a stored response's id with one cannot exist (404); an admin body with one is refused (400), and so
 * is a `%00` in a path or query (400 invalid_request). A summary cursor may name a group with a NUL: an older
 * SQLite file holds such model names (test/usage-summary-nul-group.test.ts); on Postgres, which holds none, it is a 400.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { toGatewayError } from '../src/plugins/errors'

let mock: MockProvider
let gw: TestGateway
let secret: string
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { require_pricing: false } })
  ;({ secret } = await gw.userWithKey({ id: 'erin', max_budget: 10 }))
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const post = (path: string, auth: Record<string, string>, body: unknown) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) })
const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code

describe('a NUL in what an inference request names', () => {
  test.each(['mock:x\u0000y', 'mock:x\ty', 'mock:x\u007f'])('model %j: 404 model_not_found, nothing held', async (model) => {
    const res = await post('/v1/chat/completions', { authorization: `Bearer ${secret}` }, { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })
    expect(res.status).toBe(404)
    expect(await codeOf(res)).toBe('model_not_found')
  })

  test('the master key billing a user whose id has a NUL: 404 user_not_found', async () => {
    const res = await post('/v1/chat/completions', gw.master, { model: 'mock:gpt-mock', user: 'e\u0000rin', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })
    expect(res.status).toBe(404)
    expect(await codeOf(res)).toBe('user_not_found')
  })

  test('a Responses request continuing a response id with a NUL: 404', async () => {
    const res = await post('/v1/responses', { authorization: `Bearer ${secret}` }, { model: 'mock:gpt-mock', input: 'hi', max_output_tokens: 5, previous_response_id: 'resp_\u0000' })
    expect(res.status).toBe(404)
    expect(await codeOf(res)).toBe('response_not_found')
  })

  test('a NUL in an admin body: 400 naming the field', async () => {
    const key = await gw.admin('POST', '/v1/keys', { user_id: 'erin', name: 'k\u0000' })
    expect(key.status).toBe(400)
    expect(key.body.error.message).toContain('name')
    expect((await gw.admin('PATCH', '/v1/users/erin', { alias: 'a\u0000' })).status).toBe(400)
    expect((await gw.admin('PATCH', '/v1/users/erin', { alias: 'a\tb' })).status).toBe(200)
  })
})

describe('a NUL in a path, query or cursor', () => {
  test.each([
    '/v1/usage?user_id=%00',
    '/v1/usage?model=%00',
    '/v1/usage/csv?model=%00',
    '/v1/audit?user_id=%00',
    '/v1/users/%00',
    '/v1/keys/%00',
  ])('master key: GET %s is 400 invalid_request', async (path) => {
    const res = await fetch(gw.url + path, { headers: gw.master })
    expect(res.status).toBe(400)
    expect(await codeOf(res)).toBe('invalid_request')
  })

  test('a summary cursor naming a group with a NUL: the page after it on SQLite, 400 invalid_request on Postgres', async () => {
    const res = await fetch(`${gw.url}/v1/usage/summary?cursor=${Buffer.from(JSON.stringify(['2024-01-01', '\u0000', 'x'])).toString('base64url')}`, { headers: gw.master })
    if (gw.databaseUrl) {
      expect(res.status).toBe(400)
      expect(await codeOf(res)).toBe('invalid_request')
    } else {
      expect(res.status).toBe(200)
      expect(((await res.json()) as { data: unknown[] }).data).toEqual([])
    }
  })

  test('refused before authentication, and with the route’s error shape', async () => {
    expect((await fetch(`${gw.url}/v1/key/usage?model=%00`)).status).toBe(400)
    const res = await fetch(`${gw.url}/v1/messages?x=%00`, { method: 'POST', headers: { 'x-api-key': secret } })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { type: string }).type).toBe('error')
  })

  test('a NUL that Postgres refuses behind the edge (22021, 22P05, wrapped by drizzle or not) is a 400, not a 500', () => {
    const log = { log: () => {}, enabled: () => false } as never
    expect(toGatewayError('UNKNOWN', Object.assign(new Error('x'), { errno: '22021' }), log).status).toBe(400)
    expect(toGatewayError('UNKNOWN', Object.assign(new Error('Failed query'), { cause: { errno: '22P05' } }), log).status).toBe(400)
    expect(toGatewayError('UNKNOWN', Object.assign(new Error('x'), { errno: '22003' }), log).status).toBe(500)
  })
})

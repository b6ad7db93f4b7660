/**
 * SPEC §3: a credential is `Authorization: Bearer <key>` or `x-api-key: <key>`. A reverse proxy with Basic auth
 * in front of the gateway (nginx and Traefik pass `Authorization` on) leaves an Anthropic client's `x-api-key`
 * beside a `Basic` header: the key is read there. A Bearer key still wins when both are sent.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const PROXY_BASIC = 'Basic dGVhbTpwcm94eS1wYXNzd29yZA=='

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mockant:claude': { input_per_million: 3, output_per_million: 15 } } } })
  secret = (await gw.userWithKey({ id: 'u', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

async function messages(headers: Record<string, string>) {
  const res = await fetch(gw.url + '/v1/messages', {
    method: 'POST',
    headers: { 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mockant:claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const body = await res.text()
  return { status: res.status, body: res.status === 200 ? '' : body }
}

test('a valid x-api-key is honoured beside a non-Bearer Authorization header', async () => {
  expect(await messages({ authorization: PROXY_BASIC, 'x-api-key': secret })).toEqual({ status: 200, body: '' })
})

test('a Basic header alone is no credential', async () => {
  expect((await messages({ authorization: PROXY_BASIC })).status).toBe(401)
})

test('a Bearer key wins over x-api-key when both are sent', async () => {
  expect(await messages({ authorization: `Bearer ${secret}`, 'x-api-key': 'tg-not-a-key' })).toEqual({ status: 200, body: '' })
  expect((await messages({ authorization: 'Bearer tg-not-a-key', 'x-api-key': secret })).status).toBe(401)
})

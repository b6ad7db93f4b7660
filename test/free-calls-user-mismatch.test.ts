/**
 * SPEC §4: "A non-master key always bills its own user. If the body names another `user` (or Anthropic
 * `metadata.user_id`): 403 `user_mismatch` by default"; with the key's policy (or the global setting) at `tag`,
 * the value goes upstream only as the end-user tag. The free counting routes (`/v1/messages/count_tokens`,
 * `/v1/responses/input_tokens`) bill nobody but follow the same rule, before the provider is called.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let alice: string
let tagging: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mockant:claude': { input_per_million: 3, output_per_million: 15 } } },
  })
  alice = (await gw.userWithKey({ id: 'alice', max_budget: 10 })).secret
  tagging = (await gw.userWithKey({ id: 'agent', max_budget: 10 }, { user_field: 'tag' })).secret
  await gw.userWithKey({ id: 'bob', max_budget: 10 })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const post = (path: string, body: unknown, auth: Record<string, string>) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { ...auth, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const countTokens = (userId: string | undefined, auth: Record<string, string>) =>
  post('/v1/messages/count_tokens', { model: 'mockant:claude', messages: [{ role: 'user', content: 'hi' }], ...(userId ? { metadata: { user_id: userId } } : {}) }, auth)
const inputTokens = (user: string | undefined, auth: Record<string, string>) =>
  post('/v1/responses/input_tokens', { model: 'mock:gpt-mock', input: 'hi', ...(user ? { user } : {}) }, auth)

test('count_tokens naming another user is 403 user_mismatch (Anthropic shape), provider not called', async () => {
  const before = mock.calls.length
  const res = await countTokens('bob', { 'x-api-key': alice })
  expect(res.status).toBe(403)
  expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } })
  expect(mock.calls.length).toBe(before)
})

test('responses/input_tokens naming another user is 403 user_mismatch, provider not called', async () => {
  const before = mock.calls.length
  const res = await inputTokens('bob', { 'x-api-key': alice })
  expect(res.status).toBe(403)
  expect(((await res.json()) as any).error.code).toBe('user_mismatch')
  expect(mock.calls.length).toBe(before)
})

test("naming the key's own user is counted", async () => {
  expect((await countTokens('alice', { 'x-api-key': alice })).status).toBe(200)
  expect((await inputTokens('alice', { 'x-api-key': alice })).status).toBe(200)
})

test('a key at `tag` is counted, the value sent on as it came (as the billed routes send it)', async () => {
  const before = mock.calls.length
  const counted = await countTokens('session-7', { 'x-api-key': tagging })
  expect(counted.status).toBe(200)
  expect((mock.calls.slice(before).find((c) => c.path.endsWith('/count_tokens'))!.body as any).metadata).toEqual({ user_id: 'session-7' })
  const input = await inputTokens('session-7', { 'x-api-key': tagging })
  expect(input.status).toBe(200)
  expect((mock.calls.slice(before).find((c) => c.path.endsWith('/input_tokens'))!.body as any).user).toBe('session-7')
})

test('the master key may count naming no user, or any (nobody is billed)', async () => {
  expect((await countTokens(undefined, gw.master)).status).toBe(200)
  expect((await inputTokens('bob', gw.master)).status).toBe(200)
})

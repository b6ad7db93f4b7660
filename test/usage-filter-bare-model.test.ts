/**
 * A usage filter's model named as a client names it on the inference routes: a bare id (`gpt-5`, Claude Code's
 * `claude-opus-4-8`) that `default_providers` sends to a provider matches the rows recorded under the
 * `provider:model` it was served as, on every list that takes `?model=` (usage, its summary and CSV, a user's and
 * a key's own usage); a bare id each format's default serves matches both; `provider:model` still matches exactly.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

const PRICE = { input_per_million: 1, output_per_million: 2 }

const call = (path: string, model: string) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  })

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      default_providers: { openai: 'mock', anthropic: 'mockant' },
      pricing: { 'mock:gpt-5': PRICE, 'mockant:gpt-5': PRICE, 'mockant:claude-opus-4-8': PRICE },
    },
  })
  secret = (await gw.userWithKey({ id: 'bare-filter', max_budget: 10 })).secret
  for (const [path, model] of [
    ['/v1/chat/completions', 'gpt-5'], // mock:gpt-5
    ['/v1/chat/completions', 'mock:gpt-5'],
    ['/v1/messages', 'claude-opus-4-8'], // mockant:claude-opus-4-8
    ['/v1/messages', 'gpt-5'], // mockant:gpt-5
  ] as const)
    expect((await call(path, model)).status).toBe(200)
  await gw.settled()
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const models = async (path: string) => {
  const res = await gw.admin('GET', path)
  expect(res.status).toBe(200)
  return (res.body.data as Array<{ model: string }>).map((r) => r.model).sort()
}

describe('?model= with a bare id matches the rows its default providers served', () => {
  test('a bare id one format serves: its provider:model rows', async () => {
    expect(await models('/v1/usage?model=claude-opus-4-8')).toEqual(['mockant:claude-opus-4-8'])
  })

  test('a bare id both formats serve: the rows of either default provider', async () => {
    expect(await models('/v1/usage?model=gpt-5')).toEqual(['mock:gpt-5', 'mock:gpt-5', 'mockant:gpt-5'])
  })

  test('provider:model still matches exactly that model', async () => {
    expect(await models('/v1/usage?model=mock:gpt-5')).toEqual(['mock:gpt-5', 'mock:gpt-5'])
    expect(await models('/v1/usage?model=mockant/gpt-5')).toEqual(['mockant:gpt-5'])
  })

  test('the summary, its totals, a user\'s usage, a key\'s own usage and the CSV take it alike', async () => {
    const summary = (await gw.admin('GET', '/v1/usage/summary?model=claude-opus-4-8')).body
    expect(summary.totals.requests).toBe(1)
    expect(summary.data.map((r: any) => r.model)).toEqual(['mockant:claude-opus-4-8'])
    expect((await gw.admin('GET', '/v1/usage/summary?model=gpt-5')).body.totals.requests).toBe(3)
    expect((await gw.admin('GET', '/v1/users/bare-filter/usage?model=gpt-5')).body.totals.requests).toBe(3)
    const own = await fetch(`${gw.url}/v1/key/usage?model=claude-opus-4-8`, { headers: { authorization: `Bearer ${secret}` } })
    expect(((await own.json()) as any).totals.requests).toBe(1)
    const csv = await fetch(`${gw.url}/v1/usage/csv?model=claude-opus-4-8`, { headers: gw.master })
    expect((await csv.text()).trim().split('\r\n')).toHaveLength(2) // the header and the one row
  })

  test('rows of a provider since removed from the config still match their name exactly', async () => {
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
       VALUES ('removed-1', ?, 'bare-filter', NULL, 'gone:old-model', 'gone', '/v1/chat/completions', 1, 1, 3, 3, 'ok')`,
      Date.now(),
    )
    expect(await models('/v1/usage?model=gone:old-model')).toEqual(['gone:old-model'])
    expect((await gw.admin('GET', '/v1/usage/summary?model=gone:old-model')).body.totals.requests).toBe(1)
  })
})

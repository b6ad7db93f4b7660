import { afterAll, beforeAll, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * A provider call the gateway pays (its whole hold) but whose answer the client never gets — a 200 whose JSON does
 * not parse, a body that breaks off, a call that outruns the upstream timeout — is answered 502/504 with
 * `x-should-retry: false`. The official SDKs retry every 5xx twice by default: without it the same request would
 * reach the provider three times and be charged three times, for one answer never received.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string
const PRICING = { 'mock:gpt-mock': { input_per_million: 2, output_per_million: 8 }, 'mockant:claude-mock': { input_per_million: 3, output_per_million: 15 } }

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: PRICING, upstream_timeout_ms: 300 } })
  secret = (await gw.userWithKey({ id: 'payer', max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

async function run(behavior: 'malformed-json' | 'cut-body' | 'hang', sdk: 'openai' | 'anthropic') {
  mock.reset()
  mock.queue(behavior, behavior, behavior)
  await gw.settled()
  const before = (await gw.admin('GET', '/v1/users/payer')).body.spend as number
  const rowsBefore = gw.query('SELECT count(*) AS n FROM usage')[0].n as number
  let error: any
  if (sdk === 'openai') {
    const client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1` }) // default maxRetries: 2
    error = await client.chat.completions.create({ model: 'mock:gpt-mock', max_tokens: 2000, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  } else {
    const client = new Anthropic({ apiKey: secret, baseURL: gw.url }) // default maxRetries: 2
    error = await client.messages.create({ model: 'mockant:claude-mock', max_tokens: 2000, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  }
  await gw.settled()
  const after = (await gw.admin('GET', '/v1/users/payer')).body.spend as number
  const rows = gw.query('SELECT status, cost, reserved FROM usage ORDER BY rowid').slice(rowsBefore)
  return { error, calls: mock.calls.length, charged: after - before, rows }
}

for (const sdk of ['openai', 'anthropic'] as const)
  for (const behavior of ['malformed-json', 'cut-body', 'hang'] as const)
    test(`${sdk} SDK, provider ${behavior}: the paid error says x-should-retry: false and the provider is called (and the hold charged) once`, async () => {
      const { error, calls, charged, rows } = await run(behavior, sdk)
      expect(error?.status).toBe(behavior === 'hang' ? 504 : 502)
      // Each attempt was paid its whole hold (the gateway's own rule for an answer it cannot use).
      expect(rows.every((r: any) => r.cost > 0 && r.cost === r.reserved)).toBe(true)
      expect(charged).toBeGreaterThan(0)
      expect({ calls, paidRows: rows.length, shouldRetry: error.headers?.get('x-should-retry') }).toEqual({ calls: 1, paidRows: 1, shouldRetry: 'false' })
    }, 30_000)

test('openai SDK, a stream whose provider does not answer in time: the paid 504 says x-should-retry: false and is not sent again', async () => {
  mock.reset()
  mock.queue('hang', 'hang', 'hang')
  await gw.settled()
  const rowsBefore = gw.query('SELECT count(*) AS n FROM usage')[0].n as number
  const client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1` })
  const error: any = await client.chat.completions
    .create({ model: 'mock:gpt-mock', stream: true, max_tokens: 2000, messages: [{ role: 'user', content: 'hi' }] })
    .then(async (s) => { for await (const _ of s); })
    .catch((e) => e)
  await gw.settled()
  const rows = gw.query('SELECT status, cost, reserved FROM usage ORDER BY rowid').slice(rowsBefore)
  expect(error?.status).toBe(504)
  // Each cut attempt paid the input estimate (the provider may have the prompt).
  expect(rows.every((r: any) => r.cost > 0)).toBe(true)
  expect({ calls: mock.calls.length, paidRows: rows.length, shouldRetry: error.headers?.get('x-should-retry') }).toEqual({ calls: 1, paidRows: 1, shouldRetry: 'false' })
}, 30_000)

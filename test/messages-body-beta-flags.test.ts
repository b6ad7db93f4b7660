import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'

/**
 * The beta flags in the BODY of a Messages request are flags sent. The Anthropic-compatible servers an `anthropic`
 * provider often points at read them there too: a LiteLLM proxy's /v1/messages sends the Anthropic SDK's top-level
 * `betas: [...]` on as the beta header (BerriAI/litellm#28081), and Bedrock's Messages body carries
 * `anthropic_beta: [...]`. So `context-1m-…` in either is priced as the header's is: 402 on a model without a
 * long_context price, the long-context rate past 200K on one with it, the flags sent as read (lower case, trimmed).
 * A provider whose configured `anthropic-beta` replaces the client's gets neither field; one that is not a list of
 * strings is a 400.
 *
 * The upstream below is such a server: the flags it honours are the header's, `betas` and `anthropic_beta`.
 */

const FLAG_1M = 'context-1m-2025-08-07'
const LONG = [{ role: 'user', content: 'x'.repeat(250_000) }]
const USER = 'body-betas'

interface Seen { path: string; flags: string[]; body: Record<string, unknown> }
const calls: Seen[] = []
let upstream: ReturnType<typeof Bun.serve>
let gw: TestGateway
let secret: string

/** The beta flags a LiteLLM- or Bedrock-style Anthropic-compatible server honours: header, `betas`, `anthropic_beta`. */
function flagsHonoured(req: Request, body: Record<string, unknown>): string[] {
  const header = (req.headers.get('anthropic-beta') ?? '').split(',').map((f) => f.trim()).filter(Boolean)
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((f): f is string => typeof f === 'string') : [])
  return [...new Set([...header, ...list(body.betas), ...list(body.anthropic_beta)])]
}

beforeAll(async () => {
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const body = (await req.json()) as Record<string, unknown>
      calls.push({ path: new URL(req.url).pathname, flags: flagsHonoured(req, body), body })
      return Response.json({
        id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 210_000, output_tokens: 10 },
      })
    },
  })
  const provider = (headers: Record<string, string> = {}) => ({
    type: 'anthropic', base_url: `http://127.0.0.1:${upstream.port}`, api_key: 'sk-ant-body-betas-upstream-0123456789', headers,
  })
  gw = await startTestGateway({
    config: {
      providers: { proxy: provider(), fixed: provider({ 'Anthropic-Beta': 'interleaved-thinking-2025-05-14' }) },
      pricing: {
        'proxy:m': { input_per_million: 1, output_per_million: 2, service_tiers: { long_context: 2 } },
        'proxy:bare': { input_per_million: 1, output_per_million: 2 },
        'fixed:m': { input_per_million: 1, output_per_million: 2, service_tiers: { long_context: 2 } },
      },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop(true)
})
beforeEach(() => {
  calls.length = 0
})

const post = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

const LONG_RATE = 2 * (210_000 + 20)
const PLAIN_RATE = 210_000 + 20

test('control: the flag in the header, on a model without a long_context price, is 402 and nothing is sent', async () => {
  const res = await post({ model: 'proxy:bare', max_tokens: 50, messages: LONG }, { 'anthropic-beta': FLAG_1M })
  expect(res.status).toBe(402)
  expect(calls).toHaveLength(0)
})

for (const field of ['betas', 'anthropic_beta'] as const) {
  test(`the flag in the body's \`${field}\`, on a model without a long_context price: 402, nothing sent`, async () => {
    const res = await post({ model: 'proxy:bare', max_tokens: 50, messages: LONG, [field]: [FLAG_1M] })
    expect({ field, status: res.status, calls: calls.length }).toEqual({ field, status: 402, calls: 0 })
  })

  test(`the flag in the body's \`${field}\` on a priced model: billed at the long_context rate, sent as read`, async () => {
    const row = await settledRow(gw, USER, async () => {
      const res = await post({ model: 'proxy:m', max_tokens: 50, messages: LONG, [field]: ['Interleaved-Thinking-2025-05-14', ` ${FLAG_1M.toUpperCase()}`] })
      await res.arrayBuffer()
      expect(res.status).toBe(200)
    })
    expect({ field, cost: row.cost }).toEqual({ field, cost: LONG_RATE })
    expect(calls.map((c) => c.body[field])).toEqual([['interleaved-thinking-2025-05-14', FLAG_1M]])
  })

  test(`\`${field}\` to a provider whose configured anthropic-beta replaces the client's: dropped, not billed`, async () => {
    const row = await settledRow(gw, USER, async () => {
      const res = await post({ model: 'fixed:m', max_tokens: 50, messages: LONG, [field]: [FLAG_1M] })
      await res.arrayBuffer()
      expect(res.status).toBe(200)
    })
    expect(calls.map((c) => ({ flags: c.flags, has: field in c.body }))).toEqual([{ flags: ['interleaved-thinking-2025-05-14'], has: false }])
    expect(row.cost).toBe(PLAIN_RATE)
  })

  for (const value of [FLAG_1M, [FLAG_1M, 1], { [FLAG_1M]: true }]) {
    test(`\`${field}\`: ${JSON.stringify(value)}, not a list of strings, is a 400 and nothing is sent`, async () => {
      const res = await post({ model: 'proxy:m', max_tokens: 50, messages: LONG, [field]: value })
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(field)
      expect(calls).toHaveLength(0)
    })
  }
}

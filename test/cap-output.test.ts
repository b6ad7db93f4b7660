import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { withOpenAIOutputCap } from '../src/translate/output-cap'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedCall, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * With cap-output on, every provider is sent, in the field it reads, the output bound the estimate used,
 * so that spend can never pass max_budget. The OpenAI-compatible provider here reads only `max_tokens`
 * (as vLLM and Ollama do) and the Anthropic one only its `max_tokens`; uncapped, both write far more
 * than any client asked for. With it off, the two chat maxima go upstream as they came, and the hold
 * covers the larger.
 */
const DEFAULT_MAX = 20
const UNCAPPED_OUTPUT = 10_000

let upstream: ScriptedUpstream
let gw: TestGateway

// 100 micro-USD per output token: an uncapped answer costs $1, far past any budget below.
const PRICING = { 'plain:m': { input_per_million: 1, output_per_million: 100 }, 'ant:m': { input_per_million: 1, output_per_million: 100 } }

/** Output as long as the field this provider reads allows, else UNCAPPED_OUTPUT tokens. */
function answerUpToMaxTokens({ path, body }: ScriptedCall): Response {
  const output = typeof body.max_tokens === 'number' ? body.max_tokens : UNCAPPED_OUTPUT
  if (path === '/v1/messages')
    return jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'max_tokens', stop_sequence: null, usage: { input_tokens: 5, output_tokens: output },
    })
  return jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: 5, completion_tokens: output, total_tokens: 5 + output },
  })
}

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: PRICING,
      cap_output_tokens: true,
      default_max_output_tokens: DEFAULT_MAX,
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
  upstream.answer(answerUpToMaxTokens)
})

let users = 0
async function keyFor(maxBudget: number | null = null): Promise<{ id: string; secret: string }> {
  const id = `cap-user-${++users}`
  return { id, secret: (await gw.userWithKey({ id, max_budget: maxBudget })).secret }
}

async function send(secret: string, path: string, body: Record<string, unknown>): Promise<number> {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...body }),
  })
  await res.arrayBuffer()
  return res.status
}

/** The output fields the upstream received on the last call. */
async function upstreamMax(path: string, body: Record<string, unknown>) {
  const { secret } = await keyFor()
  expect(await send(secret, path, body)).toBe(200)
  const sent = upstream.calls.at(-1)!.body
  return { max_tokens: sent.max_tokens, max_completion_tokens: sent.max_completion_tokens }
}

describe('the upstream receives the bound the estimate used, in the field it reads', () => {
  const chat = '/v1/chat/completions'

  test('chat → OpenAI-compatible: the client\'s max_completion_tokens goes out as max_tokens', async () => {
    expect(await upstreamMax(chat, { model: 'plain:m', max_completion_tokens: 5 })).toEqual({ max_tokens: 5, max_completion_tokens: undefined })
  })

  test('chat → OpenAI-compatible: both set, the one OpenAI reads first (max_completion_tokens) wins; the hold covers the larger', async () => {
    expect(await upstreamMax(chat, { model: 'plain:m', max_tokens: 50, max_completion_tokens: 5 })).toEqual({ max_tokens: 5, max_completion_tokens: undefined })
  })

  test('chat → OpenAI-compatible: the client\'s max_tokens, or the default when it set none', async () => {
    expect(await upstreamMax(chat, { model: 'plain:m', max_tokens: 7 })).toEqual({ max_tokens: 7, max_completion_tokens: undefined })
    expect(await upstreamMax(chat, { model: 'plain:m' })).toEqual({ max_tokens: DEFAULT_MAX, max_completion_tokens: undefined })
    expect(await upstreamMax(chat, { model: 'plain:m', max_tokens: null })).toEqual({ max_tokens: DEFAULT_MAX, max_completion_tokens: undefined })
  })

  test('chat → Anthropic: max_completion_tokens, max_tokens or the default as Anthropic\'s max_tokens', async () => {
    expect((await upstreamMax(chat, { model: 'ant:m', max_completion_tokens: 5 })).max_tokens).toBe(5)
    expect((await upstreamMax(chat, { model: 'ant:m', max_tokens: 50, max_completion_tokens: 6 })).max_tokens).toBe(6)
    expect((await upstreamMax(chat, { model: 'ant:m' })).max_tokens).toBe(DEFAULT_MAX)
  })

  test('messages → OpenAI-compatible and → Anthropic: the client\'s max_tokens', async () => {
    expect(await upstreamMax('/v1/messages', { model: 'plain:m', max_tokens: 5 })).toEqual({ max_tokens: 5, max_completion_tokens: undefined })
    expect((await upstreamMax('/v1/messages', { model: 'ant:m', max_tokens: 5 })).max_tokens).toBe(5)
  })
})

describe('cap-output off: a chat request that sets both maxima is held at the larger, since the provider may read either', () => {
  let uncapped: TestGateway
  let n = 0
  beforeAll(async () => {
    uncapped = await startTestGateway({ config: { providers: scriptedProviders(upstream), pricing: PRICING, default_max_output_tokens: DEFAULT_MAX } })
  })
  afterAll(() => uncapped.stop())

  /** A fresh user with this budget sends one chat request; its status, and the budget its hold leaves (X-Budget-Remaining). */
  async function chatAs(maxBudget: number, max: Record<string, unknown>) {
    const { secret } = await uncapped.userWithKey({ id: `uncapped-${++n}`, max_budget: maxBudget })
    const res = await fetch(uncapped.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], ...max }),
    })
    await res.arrayBuffer()
    return { status: res.status, remaining: res.headers.get('x-budget-remaining') }
  }

  test('the hold of both is the hold of the larger alone, whichever field holds it', async () => {
    // Input: 8 tokens of overhead + {"role":"user"} (15 bytes, 2 separators at 3) + "hi" = 31 micro-USD; output 100 tokens × 100.
    const held100 = (1 - (31 + 100 * 100) / 1e6).toFixed(6)
    expect(await chatAs(1, { max_tokens: 100 })).toEqual({ status: 200, remaining: held100 })
    expect(await chatAs(1, { max_completion_tokens: 1, max_tokens: 100 })).toEqual({ status: 200, remaining: held100 })
    expect(await chatAs(1, { max_completion_tokens: 100, max_tokens: 1 })).toEqual({ status: 200, remaining: held100 })
    expect(await chatAs(1, { max_completion_tokens: 1, max_tokens: null })).toEqual({ status: 200, remaining: (1 - (31 + 100) / 1e6).toFixed(6) })
  })

  test('a budget that covers max_completion_tokens but not the max_tokens a max_tokens server reads is a 402, and the provider is not called', async () => {
    upstream.calls.length = 0
    expect((await chatAs(0.005, { max_completion_tokens: 1, max_tokens: 100 })).status).toBe(402)
    expect(upstream.calls).toHaveLength(0)
  })
})

test('OpenAI itself gets the bound as max_completion_tokens, and no max_tokens beside it', () => {
  const openai = { type: 'openai' as const, base_url: 'https://api.openai.com/v1', api_key: '', headers: {} }
  expect(withOpenAIOutputCap({ model: 'gpt', max_tokens: 50 }, openai, 5)).toEqual({ model: 'gpt', max_completion_tokens: 5 })
})

describe('with a small budget, spend never passes max_budget', () => {
  const BUDGET = 0.01 // 10,000 micro-USD: about five capped answers of 20 tokens
  const CASES = [
    { name: 'chat → OpenAI-compatible, max_completion_tokens', path: '/v1/chat/completions', body: { model: 'plain:m', max_completion_tokens: DEFAULT_MAX } },
    { name: 'chat → OpenAI-compatible, no max', path: '/v1/chat/completions', body: { model: 'plain:m' } },
    { name: 'chat → Anthropic, max_completion_tokens', path: '/v1/chat/completions', body: { model: 'ant:m', max_completion_tokens: DEFAULT_MAX } },
    { name: 'messages → OpenAI-compatible', path: '/v1/messages', body: { model: 'plain:m', max_tokens: DEFAULT_MAX } },
    { name: 'messages → Anthropic', path: '/v1/messages', body: { model: 'ant:m', max_tokens: DEFAULT_MAX } },
  ]

  for (const c of CASES) {
    test(c.name, async () => {
      const { id, secret } = await keyFor(BUDGET)
      const statuses: number[] = []
      for (let i = 0; i < 10 && statuses.at(-1) !== 402; i++) statuses.push(await send(secret, c.path, c.body))
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0)
      expect(statuses.at(-1)).toBe(402)
      await gw.settled()
      const user = (await gw.admin('GET', `/v1/users/${id}`)).body
      expect(user.reserved).toBe(0)
      expect(user.spend).toBeLessThanOrEqual(BUDGET)
    })
  }
})

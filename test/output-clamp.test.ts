import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { spawnGateway, startTestGateway, tempDir, type TestGateway } from './support/gateway'
import { seededRandom } from './support/seeded'

/**
 * The output clamp end to end: a budget that cannot cover the client's max output gets, instead of a 402,
 * the output it can pay for sent upstream (if at least the floor), the hold covering exactly that worst
 * case, and X-Output-Clamped saying so. The mock writes one token per word of a long text, and stops at
 * the max it is sent, as a provider does ("length" / "max_tokens").
 */
const SONNET = { input_per_million: 3, output_per_million: 15 }
const LONG_TEXT = Array.from({ length: 20_000 }, (_, i) => `w${i}`).join(' ')

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider({ completionText: LONG_TEXT })
  gw = await startTestGateway({
    mock,
    config: {
      clamp_output: true,
      pricing: { 'mockant:claude-sonnet': SONNET, 'mock:gpt-mock': SONNET },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

let n = 0
async function client(maxBudget: number, key: Record<string, unknown> = {}, user: Record<string, unknown> = {}) {
  const id = `clamp-${++n}`
  const { secret, keyId } = await gw.userWithKey({ id, max_budget: maxBudget, ...user }, key)
  return {
    id,
    keyId,
    anthropic: new Anthropic({ apiKey: secret, baseURL: gw.url, maxRetries: 0 }),
    openai: new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 }),
  }
}
const spendOf = async (id: string) => (await gw.admin('GET', `/v1/users/${id}`)).body as { spend: number; reserved: number; max_budget: number }

/** Claude Code's shape: a ~76 KB system prompt, a streamed request asking max_tokens 32000. */
const SYSTEM = 'You are a coding agent. '.repeat(3200)

describe('a $0.50 user and a Claude-Code-sized request at Sonnet prices', () => {
  test('is served, clamped to the output the budget covers, and spend stays within max_budget', async () => {
    const c = await client(0.5)
    const stream = c.anthropic.messages.stream({
      model: 'mockant:claude-sonnet', max_tokens: 32_000, system: SYSTEM, messages: [{ role: 'user', content: 'say hi' }],
    })
    const { response } = await stream.withResponse()
    const clampedTo = Number(response.headers.get('x-output-clamped'))
    const message = await stream.finalMessage()
    const sent = mock.calls[0]!.body as any
    expect(clampedTo).toBeGreaterThanOrEqual(256)
    expect(clampedTo).toBeLessThan(32_000)
    expect(sent.max_tokens).toBe(clampedTo)
    expect(message.stop_reason).toBe('max_tokens')
    await gw.settled()
    const after = await spendOf(c.id)
    expect(after.reserved).toBe(0)
    expect(after.spend).toBeLessThanOrEqual(0.5)
    // The hold was the worst case of the clamped output (every input byte at $3/M, the output at $15/M) within the
    // budget: one output token more would have passed it.
    const [row] = gw.query('SELECT reserved, cost FROM usage WHERE key_id = ?', c.keyId)
    expect(row.reserved).toBeLessThanOrEqual(500_000)
    expect(row.reserved + 15).toBeGreaterThan(500_000)
  })

  test('without the clamp (the key opts out) the same request is a 402, as before', async () => {
    const c = await client(0.5, { clamp_output: false })
    const err = await c.anthropic.messages
      .stream({ model: 'mockant:claude-sonnet', max_tokens: 32_000, system: SYSTEM, messages: [{ role: 'user', content: 'say hi' }] })
      .finalMessage()
      .catch((e) => e)
    expect(err.status).toBe(402)
    expect(mock.calls.length).toBe(0)
  })
})

describe('each route sends the clamped max in the field its provider reads', () => {
  // $0.0045 of output room at $15/M: 300 tokens, plus a few bytes of input.
  const budget = 0.0045 + 0.0001

  test('chat, native: max_tokens lowered, the answer ends with finish_reason "length"', async () => {
    const c = await client(budget)
    const { data, response } = await c.openai.chat.completions
      .create({ model: 'mock:gpt-mock', max_tokens: 4000, messages: [{ role: 'user', content: 'write a lot' }] })
      .withResponse()
    const clampedTo = Number(response.headers.get('x-output-clamped'))
    expect(clampedTo).toBeGreaterThan(290)
    expect(clampedTo).toBeLessThan(334)
    expect((mock.calls[0]!.body as any).max_tokens).toBe(clampedTo)
    expect(data.choices[0]!.finish_reason).toBe('length')
    expect(data.usage!.completion_tokens).toBe(clampedTo)
  })

  test('chat translated to an Anthropic model, streamed: max_tokens lowered', async () => {
    const c = await client(budget)
    const stream = await c.openai.chat.completions.create({
      model: 'mockant:claude-sonnet', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'write a lot' }],
    })
    let finish: string | null = null
    for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish
    expect(finish).toBe('length')
    expect((mock.calls[0]!.body as any).max_tokens).toBeLessThan(334)
  })

  test('messages translated to an OpenAI-type model: max_tokens lowered', async () => {
    const c = await client(budget)
    const message = await c.anthropic.messages.create({ model: 'mock:gpt-mock', max_tokens: 4000, messages: [{ role: 'user', content: 'write a lot' }] })
    expect(message.stop_reason).toBe('max_tokens')
    expect((mock.calls[0]!.body as any).max_tokens).toBeLessThan(334)
  })

  test("a key's own ceiling clamps too, and a request the budget covers is not clamped", async () => {
    const c = await client(100, { max_budget: budget })
    const covered = await c.openai.chat.completions
      .create({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
    expect(covered.response.headers.get('x-output-clamped')).toBeNull()
    expect((mock.calls[0]!.body as any).max_tokens).toBe(5)
    const clamped = await c.openai.chat.completions
      .create({ model: 'mock:gpt-mock', max_tokens: 4000, messages: [{ role: 'user', content: 'write a lot' }] })
      .withResponse()
    const clampedTo = Number(clamped.response.headers.get('x-output-clamped'))
    expect(clampedTo).toBeGreaterThan(256)
    expect(clampedTo).toBeLessThan(334)
    expect((mock.calls[1]!.body as any).max_tokens).toBe(clampedTo)
  })

  test('below the floor (256 tokens) it is a 402, and nothing reaches the provider', async () => {
    const c = await client(0.003)
    const err = await c.openai.chat.completions
      .create({ model: 'mock:gpt-mock', max_tokens: 4000, messages: [{ role: 'user', content: 'write a lot' }] })
      .catch((e) => e)
    expect(err.status).toBe(402)
    expect(mock.calls.length).toBe(0)
  })
})

describe("Anthropic's thinking budget is kept valid", () => {
  const ask = (c: Awaited<ReturnType<typeof client>>) =>
    c.anthropic.messages.create({
      model: 'mockant:claude-sonnet', max_tokens: 20_000, thinking: { type: 'enabled', budget_tokens: 16_000 },
      messages: [{ role: 'user', content: 'think' }],
    })

  test('clamped to 5000 tokens: budget_tokens lowered to half of it', async () => {
    // 5,000 output tokens at $15/M, and room for the input (34 tokens at $3/M).
    await ask(await client(5000 * 15e-6 + 0.0002))
    const sent = mock.calls[0]!.body as any
    expect(sent.max_tokens).toBeGreaterThanOrEqual(5000)
    expect(sent.max_tokens).toBeLessThan(5010)
    expect(sent.thinking).toEqual({ type: 'enabled', budget_tokens: Math.floor(sent.max_tokens / 2) })
  })

  test('clamped below 2048 tokens: thinking dropped', async () => {
    await ask(await client(1000 * 15e-6 + 0.0001))
    const sent = mock.calls[0]!.body as any
    expect(sent.max_tokens).toBeLessThan(1010)
    expect(sent.thinking).toBeUndefined()
  })

  test('thinking dropped: its clear_thinking context edit goes too (Anthropic refuses it without thinking), other edits stay', async () => {
    const clearThinking = { type: 'clear_thinking_20251015', keep: 'all' }
    const clearToolUses = { type: 'clear_tool_uses_20250919' }
    // Each on a budget of its own that clamps it below 2048 tokens.
    const withEdits = async (edits: unknown[]) => {
      const c = await client(1000 * 15e-6 + 0.0001)
      await c.anthropic.messages.create({
        model: 'mockant:claude-sonnet', max_tokens: 20_000, thinking: { type: 'enabled', budget_tokens: 16_000 },
        messages: [{ role: 'user', content: 'think' }],
        context_management: { edits },
      } as Parameters<typeof c.anthropic.messages.create>[0])
    }
    await withEdits([clearThinking, clearToolUses])
    const kept = mock.calls[0]!.body as any
    expect(kept.thinking).toBeUndefined()
    expect(kept.context_management).toEqual({ edits: [clearToolUses] })
    await withEdits([clearThinking])
    expect((mock.calls[1]!.body as any).context_management).toBeUndefined()
  })

  test('thinking kept at a lowered budget: its clear_thinking context edit stays', async () => {
    const c = await client(5000 * 15e-6 + 0.0001)
    await c.anthropic.messages.create({
      model: 'mockant:claude-sonnet', max_tokens: 20_000, thinking: { type: 'enabled', budget_tokens: 16_000 },
      messages: [{ role: 'user', content: 'think' }],
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    } as Parameters<typeof c.anthropic.messages.create>[0])
    expect((mock.calls[0]!.body as any).context_management).toEqual({ edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] })
  })
})

describe('opt-in', () => {
  test('globally off, a key that opts in is clamped and one that does not is refused', async () => {
    const off = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': SONNET } } })
    try {
      const make = async (id: string, key: Record<string, unknown>) => {
        const { secret } = await off.userWithKey({ id, max_budget: 0.0046 }, key)
        return new OpenAI({ apiKey: secret, baseURL: `${off.url}/v1`, maxRetries: 0 })
      }
      const body = { model: 'mock:gpt-mock', max_tokens: 4000, messages: [{ role: 'user' as const, content: 'write a lot' }] }
      const optedIn = await (await make('in', { clamp_output: true })).chat.completions.create(body).withResponse()
      expect(optedIn.response.headers.get('x-output-clamped')).not.toBeNull()
      expect((await (await make('out', {})).chat.completions.create(body).catch((e) => e)).status).toBe(402)
    } finally {
      await off.stop()
    }
  })
})

describe('concurrent clamped requests in two processes sharing one database file', () => {
  test('200 requests against a $0.05 budget: spend never passes it, reserved back to 0, and clamped answers were served', async () => {
    const dir = tempDir()
    const dbPath = join(dir, 'shared.db')
    const config = { clamp_output: true, pricing: { 'mock:gpt-mock': SONNET } }
    const a = await spawnGateway({ mock, config, dbPath })
    const b = await spawnGateway({ mock, config, dbPath })
    try {
      const { secret } = await a.userWithKey({ id: 'shared-clamp', max_budget: 0.05 })
      const random = seededRandom(42)
      const asks = Array.from({ length: 200 }, (_, i) => ({ url: i % 2 ? a.url : b.url, max: 300 + Math.floor(random() * 3000) }))
      const answers = await Promise.all(
        asks.map(async ({ url, max }) => {
          const res = await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: max, messages: [{ role: 'user', content: 'write a lot' }] }),
          })
          await res.arrayBuffer()
          return { status: res.status, clamped: res.headers.get('x-output-clamped') }
        }),
      )
      expect(answers.every((r) => r.status === 200 || r.status === 402)).toBe(true)
      expect(answers.some((r) => r.status === 200 && r.clamped !== null)).toBe(true)
      await Promise.all([a.settled(), b.settled()])
      const user = (await a.admin('GET', '/v1/users/shared-clamp')).body
      expect(user.reserved).toBe(0)
      expect(user.spend).toBeLessThanOrEqual(0.05)
      // The mock writes every token it is allowed: the budget was used, not left idle by refusals.
      expect(user.spend).toBeGreaterThan(0.04)
    } finally {
      await Promise.all([a.stop(), b.stop()])
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

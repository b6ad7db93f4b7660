import { expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { upstreamSignal } from '../src/providers/upstream'
import type { TestGateway } from './support/gateway'
import { openAIEvent, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Moonshot's Kimi API streams its usage inside the last chunk's choice, not beside it (`choices: [{ index: 0,
 * delta: {}, finish_reason: 'stop', usage: {...} }]`, then `[DONE]`; go-moonshot#17, earendil-works/pi#2017). The
 * meter read only a chunk's own `usage`: every Moonshot stream finished without one and paid its whole hold, and
 * the usage's digits counted as delivered output. The choice's usage is read when its chunk carries none, and its
 * numbers are counts, not output.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { pricing: { 'plain:kimi-k2': { input_per_million: 0.6, cached_input_per_million: 0.15, output_per_million: 2.5 } } },
  (s) => ({ upstream, gw } = s),
)

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'kimi-k2' }
const textChunk = (content: string) => ({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content }, finish_reason: null }] })
const lastChunk = (usage: Record<string, unknown>) => ({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop', usage }] })

/** Feeds the meter these events and returns what it metered and what the client got. */
async function metered(events: unknown[]): Promise<{ facts: StreamFacts; text: string }> {
  let facts: StreamFacts | undefined
  const body = sseResponse(events.map(openAIEvent)).body!
  const out = meterOpenAIStream(body, { passUsage: false, idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd: (f) => (facts = f) })
  const text = await new Response(out).text()
  return { facts: facts!, text }
}

test("a Moonshot stream is billed the usage in its last choice, cache hits at the cached rate, not the hold", async () => {
  upstream.answer(() =>
    sseResponse([
      openAIEvent(textChunk('Hello there')),
      openAIEvent(lastChunk({ prompt_tokens: 10_000, completion_tokens: 100, total_tokens: 10_100, cached_tokens: 8_000 })),
      openAIEvent('[DONE]'),
    ]),
  )
  const { secret } = await gw.userWithKey({ id: 'moonshot-stream', max_budget: 10 })
  const row = await settledRow(gw, 'moonshot-stream', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:kimi-k2', max_tokens: 200, stream: true, messages: [{ role: 'user', content: 'context '.repeat(5_000) }] }),
    })
    expect(res.status).toBe(200)
    // Passed on as Moonshot sent it: the usage is part of a choice the client's SDK reads.
    expect(await res.text()).toContain('"cached_tokens":8000')
  })
  // 2,000 × 0.60 + 8,000 × 0.15 + 100 × 2.50 = 2,650 µ$.
  expect({ status: row.status, cost: row.cost, completion_tokens: row.completion_tokens }).toEqual({ status: 'ok', cost: 2_650, completion_tokens: 100 })
})

test("the choice's usage is read, and its digits are not counted as delivered output", async () => {
  const { facts } = await metered([textChunk('Hello'), lastChunk({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }), '[DONE]'])
  expect(facts).toEqual({ end: 'done', usage: { promptTokens: 12, completionTokens: 3, cachedTokens: 0 }, deliveredOutputBytes: 5 })
})

test('a chunk with a usage beside its choices is read by that usage alone, as OpenAI streams it', async () => {
  const both = { ...lastChunk({ prompt_tokens: 50, completion_tokens: 9, total_tokens: 59 }), usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } }
  const { facts } = await metered([textChunk('Hello'), both, '[DONE]'])
  expect(facts.usage).toEqual({ promptTokens: 12, completionTokens: 3, cachedTokens: 0 })
})

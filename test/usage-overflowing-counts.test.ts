import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A count past the range of a double (`1e309`, which JSON.parse reads as Infinity) is not a count: the usage
 * carrying it is no usage, and the answer is billed as one without (its hold), never as zero tokens.
 * plain:m and ant:m cost 1 µ$ a token in, 2 µ$ out (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('usage-overflow'))
})
afterAll(() => stop())

const LONG = 'word '.repeat(1_000)

describe('usage counts of 1e309 (Infinity once parsed)', () => {
  test('JSON chat: the answer is billed its hold, not $0', async () => {
    // The raw JSON text: JSON.stringify cannot write 1e309.
    const raw =
      `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":${JSON.stringify(LONG)}},"finish_reason":"stop"}],` +
      `"usage":{"prompt_tokens":1e309,"completion_tokens":1e309,"total_tokens":1e309}}`
    upstream.answer(() => new Response(raw, { headers: { 'content-type': 'application/json' } }))
    const row = await settledRow(gw, 'usage-overflow', async () => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', max_tokens: 4_000, messages: [{ role: 'user', content: 'Write a lot' }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.reserved).toBeGreaterThan(0)
    expect(row.cost).toBeGreaterThanOrEqual(row.reserved)
  })

  test('Anthropic stream: a message_delta restating the input as 1e309 makes the stream billed its hold, not $0', async () => {
    const events = [
      anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 20, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: LONG } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":1e309,"output_tokens":1e309}}\n\n',
      anthropicEvent({ type: 'message_stop' }),
    ]
    upstream.answer(() => sseResponse(events))
    const row = await settledRow(gw, 'usage-overflow', async () => {
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'ant:m', max_tokens: 4_000, stream: true, messages: [{ role: 'user', content: 'Write a lot' }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.reserved).toBeGreaterThan(0)
    expect(row.cost).toBeGreaterThanOrEqual(row.reserved)
  })
})

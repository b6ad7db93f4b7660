import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A later usage accounts for output delivered after an earlier one only if it counts more output than the one held,
 * in the Messages meter as in the chat and Responses meters: a proxy repeating the same message_delta after 5,000
 * bytes of text once made that text free (16 µ$ billed for 1,000 words).
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('rt-ant-repeat'))
})
afterAll(() => stop())

const messageStart = (usage: Record<string, unknown>) =>
  anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage } })
const textStart = anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
const text = (t: string) => anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })
const blockStop = anthropicEvent({ type: 'content_block_stop', index: 0 })
const messageDelta = (usage: Record<string, unknown>) =>
  anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage })
const messageStop = anthropicEvent({ type: 'message_stop' })

describe('Anthropic stream: a usage repeated with the same output count after more output', () => {
  test('1,000 words streamed after a message_delta of 2 output tokens, then the same usage again, are not billed as 2 tokens', async () => {
    const LONG = 'word '.repeat(1_000) // 5,000 bytes, at least 1,000 tokens
    upstream.answer(() =>
      sseResponse([
        messageStart({ input_tokens: 12, output_tokens: 1 }),
        textStart,
        text('Hi'),
        messageDelta({ input_tokens: 12, output_tokens: 2 }),
        text(LONG),
        blockStop,
        messageDelta({ input_tokens: 12, output_tokens: 2 }), // a proxy repeating the usage it already sent
        messageStop,
      ]),
    )
    const row = await settledRow(gw, 'rt-ant-repeat', async () => {
      const res = await fetch(gw.url + '/v1/messages', {
        method: 'POST',
        headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'ant:m', max_tokens: 4_000, stream: true, messages: [{ role: 'user', content: 'Write a lot' }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.status).toBe('ok')
    // The provider generated at least the 1,000 words it streamed: billed as a stream without usage (the chat
    // meter's rule: the estimate), never from the 2 tokens the repeated usage states (12 + 2*2 = 16 µ$).
    expect(row.cost).toBeGreaterThanOrEqual(12 + 1_000 * 2)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
  })
})

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * Deltas whose output is a JSON number, not a string. The official SDKs concatenate it into the answer
 * (`(content || '') + delta.content` in ChatCompletionStream, `(text || '') + delta.text` in MessageStream, the
 * Responses accumulator likewise), so the client is shown the digits. They count as delivered output, as their
 * text: a stream the provider then breaks before its usage pays as a cut one, not $0 as one that ended before
 * any output (outcome.ts). Before, `generatedBytes` (and the Responses meter's delta count) counted only
 * strings: 0 bytes delivered, 0 µ$. The max output (8,000) lets the hold cover the 4,600 bytes shown, so the
 * charge is not capped at the hold. 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

const USER = 'numeric-deltas'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const N = 200
const NUMBER = 1.2345678901234567e300 // 23 characters as text: "1.2345678901234567e+300"
const SHOWN_BYTES = N * String(NUMBER).length // 4,600

test('chat: numeric delta.content, then the stream ends without usage: charged, not released at $0', async () => {
  const chunk = (delta: Record<string, unknown>) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })
  upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: '' }), ...Array.from({ length: N }, () => chunk({ content: NUMBER }))]))
  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
  let shown = ''
  const row = await settledRow(gw, USER, async () => {
    const stream = openai.chat.completions.stream({ model: 'plain:m', max_tokens: 8_000, messages: [{ role: 'user', content: 'hi' }] })
    stream.on('chunk', (_chunk, snapshot) => (shown = String(snapshot.choices[0]?.message.content ?? '')))
    await stream.finalChatCompletion().catch(() => {})
  })
  expect(shown.length).toBe(SHOWN_BYTES) // the SDK shows 4,600 characters of digits
  expect(row.status).toBe('error')
  // Before a fix: 0 µ$.
  expect(row.cost).toBeGreaterThanOrEqual(2 * SHOWN_BYTES)
})

test('messages: numeric text_delta.text, then the stream ends before message_stop: charged, not released at $0', async () => {
  upstream.answer(() =>
    sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_n', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ...Array.from({ length: N }, () => anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: NUMBER } })),
    ]),
  )
  const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
  let shown = ''
  const row = await settledRow(gw, USER, async () => {
    const stream = anthropic.messages.stream({ model: 'ant:m', max_tokens: 8_000, messages: [{ role: 'user', content: 'hi' }] })
    stream.on('streamEvent', (_event, snapshot) => {
      const block = snapshot.content[0]
      if (block?.type === 'text') shown = String(block.text)
    })
    await stream.finalMessage().catch(() => {})
  })
  expect(shown.length).toBe(SHOWN_BYTES)
  expect(row.status).toBe('error')
  expect(row.cost).toBeGreaterThanOrEqual(2 * SHOWN_BYTES)
})

test('responses: numeric output_text.delta, then the stream ends before response.completed: charged, not released at $0', async () => {
  let seq = 0
  const ev = (d: Record<string, unknown>) => `event: ${d.type}\ndata: ${JSON.stringify({ ...d, sequence_number: seq++ })}\n\n`
  upstream.answer(() => {
    seq = 0
    return sseResponse([
      ev({ type: 'response.created', response: { id: 'resp_n', object: 'response', status: 'in_progress', model: 'm', output: [], usage: null } }),
      ev({ type: 'response.output_item.added', output_index: 0, item: { type: 'message', id: 'msg_n', role: 'assistant', status: 'in_progress', content: [] } }),
      ev({ type: 'response.content_part.added', output_index: 0, item_id: 'msg_n', content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
      ...Array.from({ length: N }, () => ev({ type: 'response.output_text.delta', output_index: 0, item_id: 'msg_n', content_index: 0, delta: NUMBER, logprobs: [] })),
    ])
  })
  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
  let shown = ''
  const row = await settledRow(gw, USER, async () => {
    const stream = openai.responses.stream({ model: 'plain:m', input: 'hi', store: false, max_output_tokens: 8_000 })
    stream.on('response.output_text.delta', (e) => (shown = String(e.snapshot)))
    await stream.finalResponse().catch(() => {})
  })
  expect(shown.length).toBe(SHOWN_BYTES)
  expect(row.status).toBe('error')
  expect(row.cost).toBeGreaterThanOrEqual(2 * SHOWN_BYTES)
})

import { expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { anthropicEvent, jsonResponse, sseResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * Mutation guard: /v1/chat/completions translated to an Anthropic model (src/translate/stop-reason.ts,
 * message-to-completion.ts, message-events-to-chunks.ts). README: "Translation covers … stop reasons". Claude's
 * `refusal` (its classifiers stopped the answer) is chat's `content_filter`: told `stop`, a client takes the cut
 * answer for a finished one. No suite sent a refusal through this direction.
 */
setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let gw: TestGateway
let openai: OpenAI

withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

test('setup: a key', async () => {
  const { secret } = await gw.userWithKey({ id: 'chat-refusal', max_budget: 10 })
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})

test('JSON: a Claude refusal is finish_reason content_filter', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm',
      content: [{ type: 'text', text: 'I' }],
      stop_reason: 'refusal', stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 1 },
    }),
  )
  const completion = await openai.chat.completions.create({ model: 'ant:m', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] })
  expect(completion.choices[0]!.finish_reason).toBe('content_filter')
})

test('streamed: a Claude refusal is finish_reason content_filter', async () => {
  upstream.answer(() =>
    sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_2', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 0 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'I' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'refusal', stop_sequence: null }, usage: { output_tokens: 1 } }),
      anthropicEvent({ type: 'message_stop' }),
    ]),
  )
  const stream = await openai.chat.completions.create({ model: 'ant:m', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] })
  const reasons: unknown[] = []
  for await (const chunk of stream) for (const c of chunk.choices) if (c.finish_reason) reasons.push(c.finish_reason)
  expect(reasons).toEqual(['content_filter'])
})

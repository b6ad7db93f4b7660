import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: an Anthropic stream's usage counts are cumulative, each the largest stated
 * (src/translate/anthropic-stream-usage.ts: "they can grow what was stated before, never shrink it ... SGLang sent
 * `input_tokens: 0` in `message_delta` ... the prompt must not go free"). No test has a message_delta restating the
 * input side smaller than message_start, so "the last statement wins" (`Math.max(held, stated)` → `stated`) survived,
 * billing a 100,000-token prompt as 3 tokens. ant:m: 1 µ$ an input token, 2 µ$ an output token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

test('a message_delta restating a smaller input side does not shrink the prompt message_start stated', async () => {
  upstream.answer(() =>
    sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 100_000, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Done.' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      // A compatible server's (or proxy's) delta restating the input side wrongly small.
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 3, output_tokens: 50 } }),
      anthropicEvent({ type: 'message_stop' }),
    ]),
  )
  const { secret } = await gw.userWithKey({ id: 'kc-ant-restate', max_budget: 10 })
  const row = await settledRow(gw, 'kc-ant-restate', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect({ prompt: row.prompt_tokens, output: row.completion_tokens, cost: row.cost }).toEqual({ prompt: 100_000, output: 50, cost: 100_000 + 50 * 2 })
})

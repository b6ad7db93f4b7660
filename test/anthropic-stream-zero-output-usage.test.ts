import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, postResponses, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * An Anthropic-compatible server that does not count its output (a proxy's zeros) streams 400 characters of
 * text, `message_start` stating `{input_tokens: 20, output_tokens: 1}` as Anthropic does, and ends with a
 * `message_delta` of `usage: {output_tokens: 0}`. The README: "A stream's usage of 0 output tokens beside output
 * delivered is no usage either" (the answer pays its estimate, the hold) and "message_start's `output_tokens: 1`
 * is no count of the answer". The meter once took message_start's 1 as the output count (the largest stated),
 * so the usage read 1 output token beside 400 characters, was not taken for a zero-output usage, and the stream
 * was billed 20 in + 1 out (22 µ$) against a hold of 1,043 µ$. Found by test/fuzz-money.test.ts (mode
 * `zero-output`) on every route that streams from an Anthropic provider: /v1/messages, and the chat and
 * Responses routes translated to it, which read the same meter.
 * The opposite case stays billed by its usage: a one-token answer's message_delta states `output_tokens: 1`
 * (test/anthropic-stream-one-token-answer.test.ts; here through /v1/responses).
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
const USER = 'anthropic-zero-output'
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(9)

const answerCounting = (text: string, output: number) => () =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: output } }),
    anthropicEvent({ type: 'message_stop' }),
  ])

const routes: Record<string, (maxTokens: number) => Promise<Response>> = {
  '/v1/messages': (maxTokens) =>
    fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: maxTokens, stream: true, messages: [{ role: 'user', content: 'Tell me about foxes.' }] }),
    }),
  '/v1/chat/completions': (maxTokens) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: maxTokens, stream: true, messages: [{ role: 'user', content: 'Tell me about foxes.' }] }),
    }),
  '/v1/responses': (maxTokens) => postResponses(gw, secret, { model: 'ant:m', max_output_tokens: maxTokens, stream: true, input: 'Tell me about foxes.' }),
}

describe('an Anthropic stream whose message_delta says 0 output beside 400 characters of text pays its hold, not 1 output token', () => {
  for (const [route, send] of Object.entries(routes))
    test(route, async () => {
      upstream.answer(answerCounting(TEXT, 0))
      const row = await settledRow(gw, USER, async () => {
        const res = await send(500)
        expect(res.status).toBe(200)
        expect(await res.text()).toContain('lazy dog')
      })
      expect(row.status).toBe('ok')
      // Before the fix: 22 µ$ (20 input + 1 output token at 2 µ$).
      expect({ cost: row.cost }).toEqual({ cost: row.reserved })
    })
})

test('a one-token answer through /v1/responses is still billed its usage (20 in + 1 out), not the hold', async () => {
  upstream.answer(answerCounting('Yes', 1))
  const row = await settledRow(gw, USER, async () => {
    const res = await routes['/v1/responses']!(16)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('response.completed')
  })
  expect({ status: row.status, cost: row.cost, completion_tokens: row.completion_tokens }).toEqual({ status: 'ok', cost: 20 + 2, completion_tokens: 1 })
})

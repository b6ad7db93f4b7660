import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Anthropic's `message_start` already states `output_tokens: 1` (the docs' streaming example: message_start
 * `{input_tokens: 25, output_tokens: 1}`, message_delta `{output_tokens: 15}`). An answer of exactly one token
 * (a `max_tokens: 1` probe, a one-word classification) ends with a message_delta of `output_tokens: 1`: the same
 * count. That usage is the provider's account of the whole answer and is billed, not the hold (the meter once
 * compared it with message_start's count, took the text as output after the last usage and charged 42,042 µ$).
 * The chat route to an Anthropic provider reads the same meter.
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
const USER = 'anthropic-one-token'
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const PROMPT = 'Is this spam? '.repeat(3_000) + 'Answer Yes or No.'

const oneTokenAnswer = () =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10_000, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Yes' } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 1 } }),
    anthropicEvent({ type: 'message_stop' }),
  ])

// The provider's bill: 10,000 × 1 + 1 × 2 = 10,002 µ$. The hold prices ~42,000 bytes of prompt as tokens.
const PROVIDERS_BILL = { status: 'ok', cost: 10_002, completion_tokens: 1 }

test('a streamed one-token Anthropic answer is billed its usage (10,000 in + 1 out), not the hold', async () => {
  upstream.answer(oneTokenAnswer)
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(gw.url + '/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 1, stream: true, messages: [{ role: 'user', content: PROMPT }] }),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('message_stop')
  })
  expect({ status: row.status, cost: row.cost, completion_tokens: row.completion_tokens }).toEqual(PROVIDERS_BILL)
})

test('the same answer through /v1/chat/completions to the Anthropic provider is billed its usage too', async () => {
  upstream.answer(oneTokenAnswer)
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(gw.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 1, stream: true, messages: [{ role: 'user', content: PROMPT }] }),
    })
    expect(res.status).toBe(200)
    const body = await res.text()
    expect(body).toContain('"content":"Yes"')
    expect(body).toContain('[DONE]')
  })
  expect({ status: row.status, cost: row.cost, completion_tokens: row.completion_tokens }).toEqual(PROVIDERS_BILL)
})

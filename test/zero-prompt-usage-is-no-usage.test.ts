import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, openAIEvent, postResponses, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A usage of 0 input tokens beside a prompt the provider received (a proxy's zeros; Ollama's OpenAI-compatible
 * endpoint reports `prompt_tokens: 0` when its prompt cache served the whole prompt) says nothing about what the
 * prompt cost, as a usage of 0 output beside output says nothing about the output (README). Read as a free prompt,
 * it breaks SPEC §6 "a request the provider received is never free": it is no usage, and the answer pays its hold
 * (JSON) or its estimate (stream). A prompt served wholly from Anthropic's cache states `input_tokens: 0` beside its
 * cache reads: that is a usage, billed as one.
 *
 * plain:m / ant:m: 1 µ$ an input token, 2 µ$ an output token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } } },
  (s) => ({ upstream, gw } = s),
)

const PROMPT = 'Summarise the following. ' + 'lorem ipsum dolor sit amet '.repeat(72) // ~2 KB of text
// 5 output tokens cost 10 µ$: a charge of no more bills the 2 KB prompt as free.
const OUTPUT_ONLY = 10

async function charged(id: string, path: string, body: Record<string, unknown>, answer: () => Response) {
  const { secret } = await gw.userWithKey({ id, max_budget: 1 })
  upstream.answer(answer)
  return settledRow(gw, id, async () => {
    const res = await fetch(gw.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
}

const summary = { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'A summary.', annotations: [] }] }

describe('a usage of 0 input beside a 2 KB prompt is no usage', () => {
  test('chat stream, usage chunk prompt_tokens 0, completion_tokens 5: pays its estimate', async () => {
    const row = await charged('zero-chat-stream', '/v1/chat/completions', { model: 'plain:m', stream: true, max_tokens: 64, messages: [{ role: 'user', content: PROMPT }] }, () =>
      sseResponse([
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'A summary.' }, finish_reason: 'stop' }] }),
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 0, completion_tokens: 5, total_tokens: 5 } }),
        openAIEvent('[DONE]'),
      ]),
    )
    expect(row.cost).toBeGreaterThan(OUTPUT_ONLY)
    expect(row.prompt_tokens).toBeGreaterThan(PROMPT.length / 2)
  })

  test('Responses JSON, input_tokens 0, output_tokens 5: pays its hold', async () => {
    const row = await charged('zero-responses-json', '/v1/responses', { model: 'plain:m', store: false, max_output_tokens: 64, input: PROMPT }, () =>
      jsonResponse({
        id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm', output: [summary],
        usage: { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5 },
      }),
    )
    expect(row.cost).toBeGreaterThan(OUTPUT_ONLY)
    expect(row.cost).toBe(row.reserved)
  })

  test('Messages stream, message_start and message_delta both input 0, output 5: pays its estimate', async () => {
    const row = await charged('zero-messages-stream', '/v1/messages', { model: 'ant:m', stream: true, max_tokens: 64, messages: [{ role: 'user', content: PROMPT }] }, () =>
      sseResponse([
        anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 0, output_tokens: 1 } } }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'A summary.' } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 0, output_tokens: 5 } }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    expect(row.cost).toBeGreaterThan(OUTPUT_ONLY)
  })

  test('Messages JSON served wholly from the cache, input_tokens 0 beside 1,000 cache reads: a usage, billed as one', async () => {
    const row = await charged('zero-messages-cached', '/v1/messages', { model: 'ant:m', max_tokens: 64, messages: [{ role: 'user', content: PROMPT }] }, () =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'A summary.' }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: 0, cache_read_input_tokens: 1_000, cache_creation_input_tokens: 0, output_tokens: 5 },
      }),
    )
    expect(row.prompt_tokens).toBe(1_000)
    expect(row.cost).toBe(1_000 + OUTPUT_ONLY)
  })
})

test('a stored response whose usage states 0 input is sized as one without usage: the turn continuing it is held for its prompt', async () => {
  const { secret } = await gw.userWithKey({ id: 'zero-stored', max_budget: 1 })
  const PROMPT_BYTES = PROMPT.length * 10
  upstream.answer(() =>
    jsonResponse({ id: 'resp_zero_input', object: 'response', status: 'completed', output: [summary], usage: { input_tokens: 0, output_tokens: 5, total_tokens: 5 } }),
  )
  expect((await postResponses(gw, secret, { model: 'plain:m', input: PROMPT.repeat(10), max_output_tokens: 64 })).status).toBe(200)
  upstream.answer(() =>
    jsonResponse({ id: 'resp_next', object: 'response', status: 'completed', output: [{ ...summary, id: 'msg_2' }], usage: { input_tokens: 5_000, output_tokens: 5, total_tokens: 5_005 } }),
  )
  const row = await settledRow(gw, 'zero-stored', async () => {
    expect((await postResponses(gw, secret, { model: 'plain:m', previous_response_id: 'resp_zero_input', input: 'Go on.', max_output_tokens: 16 })).status).toBe(200)
  })
  // The first turn's prompt, which the provider reads again, at 1 µ$ a token at least.
  expect(row.reserved).toBeGreaterThanOrEqual(PROMPT_BYTES)
})

import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, openAIEvent, scriptedGateway, type ScriptedUpstream, sseResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A negative count is no count of tokens (a proxy's subtraction gone wrong, a signed overflow): a usage carrying one
 * is no usage, and the answer is billed as one without (its hold), never as a free prompt.
 * plain:m and ant:m cost 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('neg-counts'))
})
afterAll(() => stop())

const PROMPT = 'word '.repeat(2_000)
const post = (path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

async function billed(path: string, body: Record<string, unknown>, answer: () => Response) {
  upstream.answer(answer)
  return settledRow(gw, 'neg-counts', async () => {
    const res = await post(path, body)
    expect(res.status).toBe(200)
    await res.text()
  })
}

describe('a usage with a negative input count is no usage: the answer pays its hold, not a free prompt', () => {
  test('chat JSON: prompt_tokens -10000', async () => {
    const row = await billed('/v1/chat/completions', { model: 'plain:m', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }, () =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: -10_000, completion_tokens: 10, total_tokens: 10 },
      }),
    )
    expect(row.cost).toBe(row.reserved)
  })

  test('chat stream: usage chunk with prompt_tokens -10000', async () => {
    const row = await billed('/v1/chat/completions', { model: 'plain:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: PROMPT }] }, () =>
      sseResponse([
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }] }),
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: -10_000, completion_tokens: 10, total_tokens: 10 } }),
        openAIEvent('[DONE]'),
      ]),
    )
    expect(row.cost).toBe(row.reserved)
  })

  test('messages JSON to Anthropic: input_tokens -10000', async () => {
    const row = await billed('/v1/messages', { model: 'ant:m', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }, () =>
      jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Hello there' }], stop_reason: 'end_turn', usage: { input_tokens: -10_000, output_tokens: 10 } }),
    )
    expect(row.cost).toBe(row.reserved)
  })

  test('responses JSON: input_tokens -10000', async () => {
    const row = await billed('/v1/responses', { model: 'plain:m', max_output_tokens: 100, input: PROMPT }, () =>
      jsonResponse({
        id: 'resp_1', object: 'response', status: 'completed', model: 'm',
        output: [{ type: 'message', id: 'm1', role: 'assistant', content: [{ type: 'output_text', text: 'Hello there' }] }],
        usage: { input_tokens: -10_000, output_tokens: 10, total_tokens: 10 },
      }),
    )
    expect(row.cost).toBe(row.reserved)
  })

  test('chat → Anthropic stream: message_start input_tokens -10000', async () => {
    const row = await billed('/v1/chat/completions', { model: 'ant:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: PROMPT }] }, () =>
      sseResponse([
        anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: -10_000, output_tokens: 1 } } }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello there' } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 10 } }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    expect(row.cost).toBe(row.reserved)
  })
})

describe('a negative count anywhere in a usage makes it no usage', () => {
  test('chat JSON: a negative cache read beside a plain prompt count', async () => {
    const row = await billed('/v1/chat/completions', { model: 'plain:m', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }, () =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10_000, completion_tokens: 10, total_tokens: 10_010, prompt_tokens_details: { cached_tokens: -10_000 } },
      }),
    )
    expect(row.cost).toBe(row.reserved)
  })

  test('messages JSON to Anthropic: a negative iteration, its cache reads beside the input', async () => {
    const row = await billed('/v1/messages', { model: 'ant:m', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] }, () =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Hello there' }], stop_reason: 'end_turn',
        usage: { input_tokens: 10, output_tokens: 10, iterations: [{ type: 'message', input_tokens: 10, output_tokens: 10, cache_read_input_tokens: -10_000 }] },
      }),
    )
    expect(row.cost).toBe(row.reserved)
  })

  test('messages stream to Anthropic: a negative input in message_start is not undone by message_delta stating 0', async () => {
    const row = await billed('/v1/messages', { model: 'ant:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: PROMPT }] }, () =>
      sseResponse([
        anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: -10_000, output_tokens: 1 } } }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello there' } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 0, output_tokens: 10 } }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    expect(row.cost).toBe(row.reserved)
  })
})

import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * SPEC §6: a request the provider received is never free. A JSON answer whose usage counts no output beside
 * the output it carries (a proxy's zeros, a server that does not count) has no usage: it pays as an answer
 * without one, its whole hold — as a stream with such a usage does (stream-zero-usage-beside-output.test.ts).
 * plain:m and ant:m cost 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('zero-json'))
})
afterAll(() => stop())

const LONG = 'word '.repeat(1_000)
const post = (path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const completion = (message: Record<string, unknown>) => ({
  id: 'c1',
  object: 'chat.completion',
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
})
const message = (content: unknown[]) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'm',
  content,
  stop_reason: 'end_turn',
  usage: { input_tokens: 0, output_tokens: 0 },
})
const response = (output: unknown[]) => ({
  id: 'resp_1',
  object: 'response',
  status: 'completed',
  model: 'm',
  output,
  usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
})

async function billed(path: string, body: Record<string, unknown>, answer: unknown) {
  upstream.answer(() => jsonResponse(answer))
  return settledRow(gw, 'zero-json', async () => {
    const res = await post(path, body)
    expect(res.status).toBe(200)
    await res.text()
  })
}

const chatBody = { model: 'plain:m', max_tokens: 4_000, messages: [{ role: 'user', content: 'Write a lot' }] }
const messagesBody = { model: 'ant:m', max_tokens: 4_000, messages: [{ role: 'user', content: 'Write a lot' }] }
const responsesBody = { model: 'plain:m', max_output_tokens: 4_000, input: 'Write a lot', store: false }

describe('a JSON usage of 0 output tokens beside output in the answer pays the hold, not $0', () => {
  test('chat: 5,000 characters of text', async () => {
    const row = await billed('/v1/chat/completions', chatBody, completion({ content: LONG }))
    expect(row.cost).toBeGreaterThan(0)
    expect(row.cost).toBe(row.reserved)
  })

  test('chat: a tool call', async () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: JSON.stringify({ text: LONG }) } }
    const row = await billed('/v1/chat/completions', chatBody, completion({ content: null, tool_calls: [call] }))
    expect(row.cost).toBe(row.reserved)
  })

  // Output in fields the stream meter counts too (every generated string): OpenRouter's image output and its
  // encrypted reasoning, beside an empty content.
  test('chat: OpenRouter image output (message.images)', async () => {
    const image = { type: 'image_url', image_url: { url: `data:image/png;base64,${'iVBORw0KGgo'.repeat(2_000)}` } }
    const row = await billed('/v1/chat/completions', chatBody, completion({ content: '', images: [image] }))
    expect(row.cost).toBe(row.reserved)
  })

  test('chat: OpenRouter encrypted reasoning (message.reasoning_details, reasoning null)', async () => {
    const details = [{ type: 'reasoning.encrypted', data: 'gAAAAAB'.repeat(2_000), id: 'rs_1', format: 'openai-responses-v1', index: 0 }]
    const row = await billed('/v1/chat/completions', chatBody, completion({ content: '', reasoning: null, reasoning_details: details }))
    expect(row.cost).toBe(row.reserved)
  })

  test('chat to an Anthropic provider: a text block', async () => {
    const row = await billed('/v1/chat/completions', { ...chatBody, model: 'ant:m' }, message([{ type: 'text', text: LONG }]))
    expect(row.cost).toBe(row.reserved)
  })

  test('Messages: a tool_use block', async () => {
    const row = await billed('/v1/messages', messagesBody, message([{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { text: LONG } }]))
    expect(row.cost).toBe(row.reserved)
  })

  test('Responses: an output_text', async () => {
    const item = { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: LONG, annotations: [] }] }
    const row = await billed('/v1/responses', responsesBody, response([item]))
    expect(row.cost).toBe(row.reserved)
  })
})

describe('a usage of 0 output tokens beside no output is the usage', () => {
  test('chat: an empty answer is billed as reported', async () => {
    upstream.answer(() => jsonResponse({ ...completion({ content: '' }), usage: { prompt_tokens: 7, completion_tokens: 0, total_tokens: 7 } }))
    const row = await settledRow(gw, 'zero-json', async () => {
      await (await post('/v1/chat/completions', chatBody)).text()
    })
    expect(row.cost).toBe(7)
  })

  test('Responses: an empty message item (its status a string, as every item has) is billed as reported', async () => {
    const item = { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: '', annotations: [] }] }
    upstream.answer(() => jsonResponse({ ...response([item]), usage: { input_tokens: 7, output_tokens: 0, total_tokens: 7 } }))
    const row = await settledRow(gw, 'zero-json', async () => {
      await (await post('/v1/responses', responsesBody)).text()
    })
    expect(row.cost).toBe(7)
  })

  test('Messages: an empty text block is billed as reported', async () => {
    upstream.answer(() => jsonResponse({ ...message([{ type: 'text', text: '' }]), usage: { input_tokens: 7, output_tokens: 0 } }))
    const row = await settledRow(gw, 'zero-json', async () => {
      await (await post('/v1/messages', messagesBody)).text()
    })
    expect(row.cost).toBe(7)
  })
})

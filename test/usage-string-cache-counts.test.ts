import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A count written as a string (protobuf's JSON mapping writes every int64 as one, so a gRPC gateway in front of
 * Claude sends `"cache_read_input_tokens": "10000"`) is no count. Read as 0 where it is not required, a 10,000-token
 * cached prompt was billed as 10 tokens: Anthropic counts cache reads and writes beside `input_tokens`. A usage
 * stating one is no usage, as one stating `1e309` (usage-infinite-counts), and the answer pays its hold.
 * ant:m costs 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('str-counts'))
})
afterAll(() => stop())

const PROMPT = 'word '.repeat(2_000)
const json = (body: unknown) => () => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
const sse = (events: string[]) => () => new Response(events.join(''), { headers: { 'content-type': 'text/event-stream' } })

async function billed(body: Record<string, unknown>, answer: () => Response, path = '/v1/messages') {
  upstream.answer(answer)
  return settledRow(gw, 'str-counts', async () => {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 100, ...body, messages: [{ role: 'user', content: PROMPT }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
}

const message = (usage: Record<string, unknown>) =>
  json({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Hello there' }], stop_reason: 'end_turn', stop_sequence: null, usage })

describe('a cache count written as a string is no count: the usage is no usage, the answer pays its hold', () => {
  test('messages JSON: cache_read_input_tokens "10000" beside input_tokens 10', async () => {
    const row = await billed({}, message({ input_tokens: 10, output_tokens: 10, cache_read_input_tokens: '10000', cache_creation_input_tokens: 0 }))
    expect(row.cost).toBe(row.reserved)
  })

  test('messages JSON: cache_creation_input_tokens "10000" beside input_tokens 10', async () => {
    const row = await billed({}, message({ input_tokens: 10, output_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: '10000' }))
    expect(row.cost).toBe(row.reserved)
  })

  test('messages stream: message_start states cache_read_input_tokens "10000"', async () => {
    const row = await billed({ stream: true }, sse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: '10000' } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello there' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 10 } }),
      anthropicEvent({ type: 'message_stop' }),
    ]))
    expect(row.cost).toBe(row.reserved)
  })

  test("chat JSON: a router's cache_creation_input_tokens \"10000\" beside prompt_tokens 10", async () => {
    // LiteLLM in front of Claude reports the writes so; the prompt is raised to them, or billed short.
    const row = await billed({ model: 'plain:m' }, json({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20, cache_creation_input_tokens: '10000' },
    }), '/v1/chat/completions')
    expect(row.cost).toBe(row.reserved)
  })

  test('messages JSON: a server tool use count "1" is no count either', async () => {
    const row = await billed({}, message({ input_tokens: 10, output_tokens: 10, server_tool_use: { web_search_requests: '1' } }))
    expect(row.cost).toBe(row.reserved)
  })
})

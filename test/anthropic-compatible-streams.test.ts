import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { meterAnthropicStream } from '../src/metering/anthropic-stream'
import type { StreamFacts } from '../src/metering/metered-stream'
import { upstreamSignal } from '../src/providers/upstream'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, openStream, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Anthropic-format streams as Anthropic-compatible servers (vLLM, SGLang, copilot-api backends, relays)
 * speak them, on /v1/messages and through the translations that meter the same stream (/v1/chat/completions
 * and /v1/responses served by an Anthropic provider). Rates: 1 micro-USD an input token, 2 an output token
 * (scriptedGateway).
 */

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('team-ant-compat'))
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

const post = (body: Record<string, unknown>) =>
  fetch(gw.url + '/v1/messages', {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say something' }], ...body }),
  })

const postOpenAI = (path: '/v1/chat/completions' | '/v1/responses', body: Record<string, unknown>) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', stream: true, ...body }),
  })

/** SGLang's restatement (sgl-project/sglang#20830): message_start has the real input, message_delta says 0. */
const inputRestatedAsZero = () =>
  sseResponse([
    messageStart({ input_tokens: 1_000, output_tokens: 1 }),
    textStart, text('Hello'), blockStop,
    messageDelta({ input_tokens: 0, output_tokens: 10 }),
    messageStop,
  ])

/** What the meter makes of these events, the body ending after them. */
async function meterFacts(events: string[]): Promise<{ body: string; facts: StreamFacts }> {
  const encoder = new TextEncoder()
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      for (const e of events) c.enqueue(encoder.encode(e))
      c.close()
    },
  })
  let facts: StreamFacts | undefined
  const body = await new Response(meterAnthropicStream(source, { idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd: (f) => (facts = f) })).text()
  return { body, facts: facts! }
}

describe('message_delta counts are cumulative: a smaller restatement does not shrink them', () => {
  // message_delta's counts are cumulative (Anthropic's streaming docs): they can only restate or grow what
  // message_start said. Taking a smaller one billed the prompt as free.
  test('input_tokens restated as 0: the 1,000 input tokens are billed', async () => {
    upstream.answer(inputRestatedAsZero)
    const row = await settledRow(gw, 'team-ant-compat', async () => {
      const res = await post({})
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.status).toBe('ok')
    // 1,000 input at 1 + 10 output at 2 (was 20: the input billed as 0).
    expect(row.cost).toBe(1_000 + 10 * 2)
  })

  test('cache reads restated as 0: the cached prompt tokens are billed', async () => {
    upstream.answer(() =>
      sseResponse([
        messageStart({ input_tokens: 10, cache_read_input_tokens: 5_000, output_tokens: 1 }),
        textStart, text('Hello'), blockStop,
        messageDelta({ input_tokens: 10, cache_read_input_tokens: 0, output_tokens: 10 }),
        messageStop,
      ]),
    )
    const row = await settledRow(gw, 'team-ant-compat', async () => {
      await (await post({})).text()
    })
    // No cached rate set: cached tokens bill at the input rate. 5,010 input + 20 output (was 10 + 20).
    expect(row.cost).toBe(5_010 + 10 * 2)
  })

  test('the cache writes\' split and the server tool uses are counts too: restated as 0, they keep the larger', async () => {
    const { facts } = await meterFacts([
      messageStart({ input_tokens: 10, cache_creation_input_tokens: 300, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 300 }, output_tokens: 1 }),
      textStart, text('Hello'), blockStop,
      messageDelta({
        input_tokens: 10, cache_creation_input_tokens: 0, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
        server_tool_use: { web_search_requests: 2 }, output_tokens: 10,
      }),
      messageDelta({ server_tool_use: { web_search_requests: 0 }, output_tokens: 10 }),
      messageStop,
    ])
    expect(facts.end).toBe('done')
    expect(facts.usage).toMatchObject({ promptTokens: 310, cacheWriteTokens: 300, cacheWrite1hTokens: 300, completionTokens: 10, serverToolUses: { web_search: 2 } })
  })

  test('chat completions served by Anthropic: billed 1,000 input tokens, and the usage chunk says so', async () => {
    upstream.answer(inputRestatedAsZero)
    let body = ''
    const row = await settledRow(gw, 'team-ant-compat', async () => {
      const res = await postOpenAI('/v1/chat/completions', { max_tokens: 100, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Say something' }] })
      expect(res.status).toBe(200)
      body = await res.text()
    })
    expect(row.cost).toBe(1_000 + 10 * 2)
    expect(body).toContain('"prompt_tokens":1000')
  })

  test('responses served by Anthropic: billed 1,000 input tokens, and response.completed says so', async () => {
    upstream.answer(inputRestatedAsZero)
    let body = ''
    const row = await settledRow(gw, 'team-ant-compat', async () => {
      const res = await postOpenAI('/v1/responses', { max_output_tokens: 100, input: 'Say something' })
      expect(res.status).toBe(200)
      body = await res.text()
    })
    expect(row.cost).toBe(1_000 + 10 * 2)
    const completed = body.split('\n').find((l) => l.startsWith('data: ') && l.includes('"response.completed"'))!
    expect(JSON.parse(completed.slice(6)).response.usage.input_tokens).toBe(1_000)
  })
})

// vLLM's /v1/messages appended OpenAI's `data: [DONE]` after message_stop until vllm-project/vllm#37510
// (copilot-api's backend does too): the answer is complete, and the client must not get an error for it.
describe('what comes after message_stop', () => {
  const answeredThen = (trailer: string) =>
    sseResponse([
      messageStart({ input_tokens: 12, output_tokens: 1 }),
      textStart, text('Hello'), blockStop,
      messageDelta({ output_tokens: 5 }),
      messageStop,
      trailer,
    ])

  test('a `data: [DONE]`: dropped; the client gets no error event, the row is ok and bills the usage', async () => {
    upstream.answer(() => answeredThen('data: [DONE]\n\n'))
    let body = ''
    const row = await settledRow(gw, 'team-ant-compat', async () => {
      const res = await post({})
      body = await res.text()
    })
    expect(body).toContain('event: message_stop')
    expect(body).not.toContain('event: error')
    expect(body).not.toContain('[DONE]')
    expect(row.status).toBe('ok')
    expect(row.cost).toBe(12 + 5 * 2)
  })

  test('an event that is not JSON: dropped, the finished answer stands', async () => {
    upstream.answer(() => answeredThen('data: {"type": "message_stop"\n\n'))
    let body = ''
    const row = await settledRow(gw, 'team-ant-compat', async () => {
      body = await (await post({})).text()
    })
    expect(body).toContain('event: message_stop')
    expect(body).not.toContain('event: error')
    expect(row.status).toBe('ok')
    expect(row.cost).toBe(12 + 5 * 2)
  })

  test('chat completions served by Anthropic: one `[DONE]`, no error, the row is ok', async () => {
    upstream.answer(() => answeredThen('data: [DONE]\n\n'))
    let body = ''
    const row = await settledRow(gw, 'team-ant-compat', async () => {
      body = await (await postOpenAI('/v1/chat/completions', { max_tokens: 100, messages: [{ role: 'user', content: 'Say something' }] })).text()
    })
    expect(body.split('data: [DONE]').length).toBe(2)
    expect(body).not.toContain('"error"')
    expect(row.status).toBe('ok')
    expect(row.cost).toBe(12 + 5 * 2)
  })

  test('a `[DONE]` before message_stop finishes nothing: the stream is truncated', async () => {
    upstream.answer(() =>
      sseResponse([messageStart({ input_tokens: 12, output_tokens: 1 }), textStart, text('Hello'), 'data: [DONE]\n\n']),
    )
    let body = ''
    const row = await settledRow(gw, 'team-ant-compat', async () => {
      body = await (await post({})).text()
    })
    expect(body).toContain('The upstream stream ended before it finished.')
    expect(row.status).toBe('error')
  })
})

// A stream may carry more than one message_delta, each cumulative: one that comes before more output counts
// only what was generated up to it. The OpenAI meter already refuses to let an early usage stand for the
// output after it (stream-output.test.ts); the Anthropic meter did not.
describe('a usage stands only for the output before it', () => {
  const words = 'word '.repeat(10) // 50 bytes

  /** Posts, reads until `marker` has come, and cuts the stream. */
  const cutAfter = (marker: string) => async () => {
    const res = await post({})
    const reader = res.body!.getReader()
    let seen = ''
    while (!seen.includes(marker)) seen += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
  }

  test('a client that cuts the stream after output that came after an early message_delta pays for that output', async () => {
    upstream.answer(
      openStream([
        messageStart({ input_tokens: 12, output_tokens: 1 }),
        textStart,
        messageDelta({ input_tokens: 12, output_tokens: 1 }),
        text(words),
        text('END'),
      ]),
    )
    const row = await settledRow(gw, 'team-ant-compat', cutAfter('END'))
    expect(row.status).toBe('aborted')
    // At least the 53 bytes of output delivered after the usage (each at most a token). The early usage billed 12 + 1 * 2 = 14.
    expect(row.cost).toBeGreaterThanOrEqual(12 + (50 + 3) * 2)
  })

  test('a later message_delta covers the output before it: its usage is billed', async () => {
    upstream.answer(
      openStream([
        messageStart({ input_tokens: 12, output_tokens: 1 }),
        textStart,
        messageDelta({ input_tokens: 12, output_tokens: 1 }),
        text(words),
        messageDelta({ output_tokens: 20 }),
      ]),
    )
    const row = await settledRow(gw, 'team-ant-compat', cutAfter('"output_tokens":20'))
    expect(row.status).toBe('aborted')
    expect(row.cost).toBe(12 + 20 * 2)
  })
})

import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { meterAnthropicStream } from '../src/metering/anthropic-stream'
import type { MeterOptions, StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { upstreamSignal } from '../src/providers/upstream'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, openAIEvent, openStream, scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Every kind of output a provider streams counts toward "delivered output", which is what a stream cut
 * before its usage is charged for (with the input estimate): one case per kind and wire format, then the
 * charge itself on a stream the client cuts. Text, refusals, `reasoning_content`, tool arguments, thinking
 * and tool input JSON were counted before; every other kind here went free.
 */

type Meter = (upstream: ReadableStream<Uint8Array>, o: MeterOptions) => ReadableStream<Uint8Array>

/** Feeds the meter these events, ending the body before the stream finished, and returns what it counted. */
async function delivered(meter: Meter, events: string[]): Promise<number> {
  const encoder = new TextEncoder()
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const e of events) c.enqueue(encoder.encode(e))
      c.close()
    },
  })
  let facts: StreamFacts | undefined
  await new Response(meter(upstream, { idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd: (f) => (facts = f) })).text()
  expect(facts!.end).toBe('truncated')
  return facts!.deliveredOutputBytes
}

const openAI: Meter = (upstream, o) => meterOpenAIStream(upstream, { ...o, passUsage: false })
const openAIDelta = (delta: Record<string, unknown>) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] })

/** 4,800 bytes of PCM: 100 ms of 24 kHz 16-bit mono audio, base64 as OpenAI streams it. */
const AUDIO_100MS = Buffer.alloc(4800, 7).toString('base64')

const OPENAI_KINDS: Array<[kind: string, delta: Record<string, unknown>, count: number]> = [
  ['content', { role: 'assistant', content: 'Hello' }, 5],
  ['refusal', { refusal: "I can't" }, 7],
  ['content as a number (the SDK shows its digits)', { content: 12.5 }, 4],
  ['reasoning_content (DeepSeek, vLLM)', { reasoning_content: 'hmm' }, 3],
  ['reasoning (OpenRouter, Groq, newer vLLM)', { reasoning: 'hmm' }, 3],
  ['reasoning_details (OpenRouter)', { reasoning_details: [{ type: 'reasoning.text', text: 'hmm' }] }, 3],
  ['tool_calls[].function.arguments', { tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }, 7],
  ['tool_calls[].function.name', { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, 11],
  ['legacy function_call.arguments', { function_call: { arguments: '{"city":"Paris"}' } }, 16],
  ['legacy function_call.name', { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '' } }, 11],
  ['audio.transcript', { audio: { id: 'audio_1', transcript: 'Hi there' } }, 8],
  ['audio.data (100 ms of PCM counts 100 tokens)', { audio: { data: AUDIO_100MS } }, 100],
  // Numbers count as their text (the SDKs concatenate a numeric delta into the answer): its positions, 2 (21 before).
  ['annotations (web search citations)', { annotations: [{ type: 'url_citation', url_citation: { url: 'https://a.example/', title: 'Sea', start_index: 0, end_index: 3 } }] }, 23],
]

describe('OpenAI stream meter: every kind of delta counts', () => {
  for (const [kind, delta, count] of OPENAI_KINDS) {
    test(kind, async () => {
      expect(await delivered(openAI, [openAIDelta(delta)])).toBe(count)
    })
  }

  test("a choice's whole message counts beside its delta; its index, finish_reason and logprobs do not", async () => {
    const logprobs = { content: [{ token: 'ab', logprob: -0.1, bytes: [97, 98], top_logprobs: [] }] }
    const chunk = openAIEvent({ choices: [{ index: 0, delta: { content: 'ab' }, message: { role: 'assistant', content: 'whole' }, finish_reason: 'stop', logprobs }] })
    expect(await delivered(openAI, [chunk])).toBe(2 + 5)
  })

  test('every choice of an n > 1 stream counts', async () => {
    const chunk = openAIEvent({ choices: [{ index: 0, delta: { content: 'ab' } }, { index: 1, delta: { content: 'cde' } }] })
    expect(await delivered(openAI, [chunk])).toBe(5)
  })
})

const anthropic: Meter = meterAnthropicStream
const MESSAGE_START = anthropicEvent({
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], usage: { input_tokens: 12, output_tokens: 1 } },
})
const blockStart = (content_block: Record<string, unknown>) => anthropicEvent({ type: 'content_block_start', index: 0, content_block })
const blockDelta = (delta: Record<string, unknown>) => anthropicEvent({ type: 'content_block_delta', index: 0, delta })

const ANTHROPIC_KINDS: Array<[kind: string, event: string, count: number]> = [
  ['text_delta', blockDelta({ type: 'text_delta', text: 'Hello' }), 5],
  ['a text block that starts with text', blockStart({ type: 'text', text: 'Hi' }), 2],
  ['thinking_delta', blockDelta({ type: 'thinking_delta', thinking: 'hmm' }), 3],
  ['input_json_delta', blockDelta({ type: 'input_json_delta', partial_json: '{"a":1}' }), 7],
  ['signature_delta', blockDelta({ type: 'signature_delta', signature: 'EqQBCgIYAhIM' }), 12],
  [
    'citations_delta',
    blockDelta({ type: 'citations_delta', citation: { type: 'char_location', cited_text: 'the sea', document_index: 0, document_title: 'Doc', start_char_index: 0, end_char_index: 7 } }),
    // Numbers count as their text, as above: its positions, 3 (10 before).
    13,
  ],
  ['a tool_use block (its name)', blockStart({ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }), 11],
  // Some Anthropic-compatible servers send the input whole, with no input_json_delta: its JSON text counts, as
  // the deltas' would (its keys and numbers too, which counting its strings alone left out: 16 before).
  ['a tool_use block given whole (its name, its input as JSON text)', blockStart({ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris', days: 3 } }), 11 + 25],
  ['a server_tool_use block (its name, its input as JSON text)', blockStart({ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'sea' } }), 10 + 15],
  [
    'a web_search_tool_result block',
    blockStart({
      type: 'web_search_tool_result',
      tool_use_id: 'srvtoolu_1',
      content: [{ type: 'web_search_result', url: 'https://a.example/', title: 'Sea', encrypted_content: 'Eo8B', page_age: null }],
    }),
    25,
  ],
  ['a redacted_thinking block', blockStart({ type: 'redacted_thinking', data: 'EmwKAhgBEgy' }), 11],
  ['a block type that does not exist yet', blockStart({ type: 'future_block', payload: { words: 'four' } }), 4],
]

describe('Anthropic stream meter: every kind of block and delta counts', () => {
  for (const [kind, event, count] of ANTHROPIC_KINDS) {
    test(kind, async () => {
      expect(await delivered(anthropic, [MESSAGE_START, event])).toBe(count)
    })
  }

  test("text in message_start's content (the SDK's snapshot starts from that message)", async () => {
    const start = anthropicEvent({
      type: 'message_start',
      message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Hello' }], usage: { input_tokens: 12, output_tokens: 1 } },
    })
    expect(await delivered(anthropic, [start])).toBe(5)
  })
})

test('a read that fails because the client left (its signal came before the cancel) ends the stream as cut by the client, not as a provider failure', async () => {
  const client = new AbortController()
  const signal = upstreamSignal(5_000, client.signal)
  // Like fetch's body: aborting the call's signal errors the pending read.
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(MESSAGE_START))
      signal.signal.addEventListener('abort', () => c.error(signal.signal.reason))
    },
  })
  let facts: StreamFacts | undefined
  const reader = meterAnthropicStream(upstream, { idleTimeoutMs: 5_000, signal, onEnd: (f) => (facts = f) }).getReader()
  await reader.read()
  const pending = reader.read()
  client.abort()
  await pending
  const statedInput = { counts: { promptTokens: 12, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 0 }, mayGrow: false }
  expect(facts).toEqual({ end: 'cancelled', usage: null, deliveredOutputBytes: 0, serverToolUses: {}, statedInput })
})

describe('a stream cut by its client before the usage pays for the output it delivered', () => {
  let upstream: ScriptedUpstream
  let gw: TestGateway
  let secret: string

  let stop: () => Promise<void>

  beforeAll(async () => {
    ;({ upstream, gw, secret, stop } = await scriptedGateway('team-cut'))
  })
  afterAll(() => stop())

  /** Reads until the events' output reached the client, then cuts the stream. */
  async function readThenCut(path: string, model: string, marker: string, fields: Record<string, unknown> = { max_tokens: 100 }) {
    const res = await fetch(gw.url + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, ...fields, stream: true, messages: [{ role: 'user', content: 'Say something' }] }),
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes(marker)) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
  }

  // Rates: 1 micro-USD an input token, 2 an output token; the hold is the input estimate plus 100 output tokens.
  const inputEstimate = (reserved: number) => reserved - 100 * 2

  test('OpenAI: a legacy function call and 10 ms of audio', async () => {
    const audio10ms = Buffer.alloc(480, 7).toString('base64')
    upstream.answer(openStream([openAIDelta({ function_call: { name: 'f', arguments: '{"x":1}' } }), openAIDelta({ audio: { data: audio10ms, transcript: 'Hi' } })]))
    const row = await settledRow(gw, 'team-cut', () => readThenCut('/v1/chat/completions', 'plain:m', '"transcript"'))
    expect(row.status).toBe('aborted')
    expect(row.cost).toBe(inputEstimate(row.reserved) + (1 + 7 + 10 + 2) * 2)
  })

  /** A chunk with output and a usage, as a server with continuous usage stats (vLLM) sends each one. */
  const withUsage = (content: string, completionTokens: number) =>
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }], usage: { prompt_tokens: 20, completion_tokens: completionTokens } })

  test('OpenAI: a usage on an early chunk does not stand for the output after it', async () => {
    upstream.answer(openStream([withUsage('', 1), openAIDelta({ content: 'word '.repeat(10) }), openAIDelta({ refusal: 'end' })]))
    const row = await settledRow(gw, 'team-cut', () => readThenCut('/v1/chat/completions', 'plain:m', '"refusal"'))
    expect(row.status).toBe('aborted')
    expect(row.cost).toBe(inputEstimate(row.reserved) + (50 + 3) * 2)
  })

  test('OpenAI: a usage on every chunk (continuous usage stats) is billed as of the last chunk delivered', async () => {
    upstream.answer(openStream([withUsage('Hello', 1), withUsage(' world', 2)]))
    const row = await settledRow(gw, 'team-cut', () => readThenCut('/v1/chat/completions', 'plain:m', '"completion_tokens":2'))
    expect(row.status).toBe('aborted')
    expect(row.cost).toBe(20 + 2 * 2)
  })

  test('Anthropic: a signature and a server tool call', async () => {
    upstream.answer(openStream([
      MESSAGE_START,
      blockDelta({ type: 'signature_delta', signature: 'EqQBCgIYAhIM' }),
      blockStart({ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'sea' } }),
    ]))
    const row = await settledRow(gw, 'team-cut', () => readThenCut('/v1/messages', 'ant:m', 'server_tool_use'))
    expect(row.status).toBe('aborted')
    // The signature, then the tool's name and its input as JSON text ({"query":"sea"}).
    expect(row.cost).toBe(inputEstimate(row.reserved) + (12 + 10 + 15) * 2)
  })

  test('Anthropic: a tool call given whole at its block start pays for its input, numbers included', async () => {
    upstream.answer(openStream([
      MESSAGE_START,
      blockStart({ type: 'tool_use', id: 'toolu_1', name: 'f', input: { lat: 48.8566, lon: 2.3522 } }),
    ]))
    const row = await settledRow(gw, 'team-cut', () => readThenCut('/v1/messages', 'ant:m', '"tool_use"'))
    expect(row.status).toBe('aborted')
    // The 12 input tokens message_start stated; the name, then {"lat":48.8566,"lon":2.3522}: 28 bytes that counting
    // its strings alone left free.
    expect(row.cost).toBe(12 + (1 + 28) * 2)
  })

  // Past the hold. 20,000 bytes of text, each counted as a token: 40,000 micro-USD of output.
  const LONG = 'x'.repeat(20_000)
  const finished = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })

  test('no max output sent upstream: the provider could make more than the hold, so all the output delivered is charged, past the hold', async () => {
    upstream.answer(openStream([openAIDelta({ content: LONG }), finished]))
    const row = await settledRow(gw, 'team-cut', () => readThenCut('/v1/chat/completions', 'plain:m', '"finish_reason":"stop"', {}))
    expect(row.status).toBe('aborted')
    const defaultOutput = 4096 // default_max_output_tokens: the hold's output when the request sets none
    expect(row.cost).toBe(row.reserved - defaultOutput * 2 + 20_000 * 2)
    expect(row.cost).toBeGreaterThan(row.reserved)
  })

  test('a max output the hold covers went upstream: the provider could make no more than the hold, so the count is kept within it', async () => {
    upstream.answer(openStream([openAIDelta({ content: LONG }), finished]))
    const row = await settledRow(gw, 'team-cut', () => readThenCut('/v1/chat/completions', 'plain:m', '"finish_reason":"stop"'))
    expect(row.status).toBe('aborted')
    expect(row.cost).toBe(row.reserved)
  })

  test('a usage the provider reported is charged whole, past the hold, though the client cut the stream after it', async () => {
    const usage = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 20, completion_tokens: 3_000, total_tokens: 3_020 } })
    upstream.answer(openStream([openAIDelta({ content: 'word '.repeat(600) }), finished, usage]))
    const row = await settledRow(gw, 'team-cut', () =>
      readThenCut('/v1/chat/completions', 'plain:m', '"completion_tokens":3000', { max_tokens: 100, stream_options: { include_usage: true } }),
    )
    expect(row.status).toBe('aborted')
    expect(row.cost).toBe(20 + 3_000 * 2)
    expect(row.cost).toBeGreaterThan(row.reserved)
  })
})

import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { textBytes, TOOL_USE_OVERHEAD_TOKENS } from '../src/budget/estimate'
import { startTestGateway, type TestGateway } from './support/gateway'
import {
  anthropicEvent, jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream,
} from './support/scripted-upstream'
import { ownAudioAnswer } from './support/audio-answer'
import { settledRow } from './support/settled-row'

/**
 * What a provider bills beyond plain tokens (SPEC §5): server tools per use, service tiers, audio tokens,
 * prompt-cache writes. Require-pricing refuses what the price book cannot price (402 naming the feature,
 * before any hold or upstream call); what it can price is held at its worst case and settled from the
 * usage the provider reports, on every path (chat and messages, native and translated, JSON and SSE).
 *
 * Rates are whole USD per million tokens, so a token at $1/M costs exactly one micro-USD: every expected
 * cost below is exact (in micro-USD, as usage rows record it).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'team-features'
const DEFAULT_MAX_USES = 3
const USE_INPUT_TOKENS = 1000
const MEDIA_PART_TOKENS = 4096

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      server_tool_default_max_uses: DEFAULT_MAX_USES,
      server_tool_use_input_tokens: USE_INPUT_TOKENS,
      media_part_tokens: MEDIA_PART_TOKENS,
      pricing: {
        'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01, code_execution: 0.05 }, service_tiers: { fast: 6, long_context: 2, inference_geo_us: 1.1 } },
        'ant:bare': { input_per_million: 1, output_per_million: 2 },
        // Anthropic's long-context rates: 2× input (cache reads and writes too), 1.5× output.
        'ant:lc': { input_per_million: 1, output_per_million: 2, service_tiers: { long_context: 2, long_context_output: 1.5 } },
        'ant:free-search': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0 } },
        'ant:rates': { input_per_million: 1, output_per_million: 2, cache_write_per_million: 3, cache_write_1h_per_million: 5 },
        'plain:m': {
          input_per_million: 1, output_per_million: 2, audio_input_per_million: 40, audio_output_per_million: 80,
          server_tools: { web_search: 0.025 }, service_tiers: { priority: 2, flex: 0.5 },
        },
        'plain:bare': { input_per_million: 1, output_per_million: 2 },
        'plain:gpt-4o-search-preview': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.025 } },
        'plain:gpt-4o-mini-search-preview': { input_per_million: 1, output_per_million: 2 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
  // The earlier audio answer `askAfterAudio` names is this user's: another user's is refused 404.
  ownAudioAnswer(gw, USER, 'audio_abc123')
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
})

const post = async (path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

/** One request for the test user; returns its usage row (checked: one row, nothing left held, spend moved by its cost). */
async function settled(path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  let status = 0
  const row = await settledRow(gw, USER, async () => {
    status = (await post(path, body, headers)).status
  })
  expect(status).toBe(200)
  return row
}

const ask = [{ role: 'user', content: 'What happened today?' }]
/** A conversation naming an earlier audio answer by id: OpenAI reads that audio again, as audio input. */
const askAfterAudio = [...ask, { role: 'assistant', audio: { id: 'audio_abc123' } }, { role: 'user', content: 'And then?' }]
const WEB_SEARCH = { type: 'web_search_20250305', name: 'web_search' }
const WEB_FETCH = { type: 'web_fetch_20250910', name: 'web_fetch' }
const CODE_EXECUTION = { type: 'code_execution_20250825', name: 'code_execution' }

// ---------------------------------------------------------------------------------------------------------
// Scripted answers

const anthropicMessage = (usage: Record<string, unknown>, content: unknown[] = [{ type: 'text', text: 'Done.' }]) =>
  jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content, stop_reason: 'end_turn', stop_sequence: null, usage })

/** The usage split as Anthropic streams it: the input side in message_start, the rest in message_delta. */
const anthropicStream = (start: Record<string, unknown>, delta: Record<string, unknown>) =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: start } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Done.' } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: delta }),
    anthropicEvent({ type: 'message_stop' }),
  ])

const completion = (usage: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Done.' }, finish_reason: 'stop' }], usage, ...extra,
  })

const completionStream = (usage: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  sseResponse([
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'Done.' }, finish_reason: null }], ...extra }),
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...extra }),
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage, ...extra }),
    openAIEvent('[DONE]'),
  ])

// ---------------------------------------------------------------------------------------------------------

describe('require-pricing covers billed features: 402 naming the feature, before any hold or upstream call', () => {
  const refusals: Array<[name: string, path: string, body: Record<string, unknown>, feature: RegExp]> = [
    ['messages: web_search server tool', '/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, tools: [WEB_SEARCH] }, /server tool web_search/],
    ['messages: code execution server tool', '/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, tools: [CODE_EXECUTION] }, /server tool code_execution/],
    ['messages: fast mode', '/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, speed: 'fast' }, /fast mode/],
    ['messages: US-only inference (inference_geo "us")', '/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, inference_geo: 'us' }, /inference geography .*us.* \(inference_geo; priced by service_tiers\.inference_geo_us\)/],
    ['chat: service_tier priority', '/v1/chat/completions', { model: 'plain:bare', messages: ask, service_tier: 'priority' }, /service tier priority/],
    ['chat: service_tier fast (OpenAI\'s name for priority)', '/v1/chat/completions', { model: 'plain:bare', messages: ask, service_tier: 'fast' }, /service tier priority/],
    ['chat: service_tier flex', '/v1/chat/completions', { model: 'plain:bare', messages: ask, service_tier: 'flex' }, /service tier flex/],
    // A name an object inherits is no price: the row's own entries only.
    ['chat: service_tier constructor', '/v1/chat/completions', { model: 'plain:m', messages: ask, service_tier: 'constructor' }, /service tier constructor/],
    ['messages: inference_geo toString', '/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask, inference_geo: 'toString' }, /inference geography .*toString/],
    ['chat: web_search_options', '/v1/chat/completions', { model: 'plain:bare', messages: ask, web_search_options: {} }, /server tool web_search/],
    ['chat: a search model', '/v1/chat/completions', { model: 'plain:gpt-4o-mini-search-preview', messages: ask }, /server tool web_search/],
    ['messages → OpenAI: a search model', '/v1/messages', { model: 'plain:gpt-4o-mini-search-preview', max_tokens: 50, messages: ask }, /server tool web_search/],
    [
      'chat: audio input',
      '/v1/chat/completions',
      { model: 'plain:bare', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] },
      /audio input/,
    ],
    ['chat: audio input by reference (an earlier audio answer, assistant.audio.id)', '/v1/chat/completions', { model: 'plain:bare', messages: askAfterAudio }, /audio input/],
    ['chat: audio output', '/v1/chat/completions', { model: 'plain:bare', messages: ask, modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } }, /audio output/],
  ]
  for (const [name, path, body, feature] of refusals) {
    test(name, async () => {
      await gw.settled()
      const rows = gw.query('SELECT count(*) AS n FROM usage')[0].n
      const { status, text } = await post(path, body)
      expect(status).toBe(402)
      // OpenAI's format carries our code; Anthropic's has only its own error types.
      expect(text).toContain(path === '/v1/messages' ? 'billing_error' : 'pricing_required')
      expect(text).toMatch(feature)
      expect(upstream.calls).toHaveLength(0)
      await gw.settled()
      expect(gw.query('SELECT count(*) AS n FROM usage')[0].n).toBe(rows)
      expect((await gw.admin('GET', `/v1/users/${USER}`)).body.reserved).toBe(0)
    })
  }

  // A short estimate does not bound what the provider reads (a file by id counts at the media bound): the flag asks for the window's rates.
  test('the long context window switched on by anthropic-beta: 402 for a prompt past 200K tokens, and for a shorter one; served once priced', async () => {
    const beta = { 'anthropic-beta': 'interleaved-thinking-2025-05-14, context-1m-2025-08-07' }
    const long = [{ role: 'user', content: 'x'.repeat(250_000) }]
    for (const messages of [long, ask]) {
      const refused = await post('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages }, beta)
      expect(refused.status).toBe(402)
      expect(refused.text).toMatch(/long context window/)
    }
    expect(upstream.calls).toHaveLength(0)
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10 }))
    expect((await settled('/v1/messages', { model: 'ant:lc', max_tokens: 50, messages: ask }, beta)).cost).toBe(120)
    // Without the flag, the same long prompt is not a long-context request.
    expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: long })).cost).toBe(120)
  })

  test('inference_geo "global" (the default) and null need no price, and go upstream as sent; any other type is a 400', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, inference_geo: 'global' }))
    expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, inference_geo: 'global' })).cost).toBe(120)
    expect(upstream.calls[0]!.body.inference_geo).toBe('global')
    expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, inference_geo: null })).cost).toBe(120)
    const odd = await post('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, inference_geo: { region: 'us' } })
    expect(odd.status).toBe(400)
    expect(odd.text).toContain('inference_geo')
    expect(upstream.calls).toHaveLength(2)
  })

  test('the standard tiers (auto, default) need no price', async () => {
    upstream.answer(() => completion({ prompt_tokens: 10, completion_tokens: 5 }, { service_tier: 'default' }))
    for (const tier of ['auto', 'default']) expect((await settled('/v1/chat/completions', { model: 'plain:bare', messages: ask, service_tier: tier })).cost).toBe(20)
  })

  test('a feature priced at 0 is served free: tokens only', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, server_tool_use: { web_search_requests: 2 } }))
    const row = await settled('/v1/messages', { model: 'ant:free-search', max_tokens: 50, messages: ask, tools: [WEB_SEARCH] })
    expect(row.cost).toBe(100 + 2 * 10)
  })

  test('cache_control is never refused, whatever the price book says about cache writes', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10 }))
    const cached = [{ role: 'user', content: [{ type: 'text', text: 'A long prefix', cache_control: { type: 'ephemeral', ttl: '1h' } }] }]
    expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: cached })).cost).toBe(120)
  })
})

/** The output a request of `max_tokens: 50` is held for, at $2/M. */
const HELD_OUTPUT = 50 * 2

/**
 * The input a server tool loop of `uses` uses is held for, in µ$ at $1/M: the prompt once per pass, each use's result
 * (at most `perUse`) once for each pass after it, and the output allowed (50) read again by each pass after the first.
 */
const loopInput = (prompt: number, uses: number, perUse = USE_INPUT_TOKENS) => (1 + uses) * prompt + (perUse * uses * (uses + 1)) / 2 + uses * 50

describe('a server tool is bounded: max_uses injected when unset, and the hold covers every use', () => {
  test('no max_uses → the configured default goes upstream; a max_uses the client set is kept', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 10, output_tokens: 5 }))
    await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask, tools: [WEB_SEARCH, { name: 'get_time', input_schema: { type: 'object' } }] })
    expect(upstream.calls[0]!.body.tools).toEqual([{ ...WEB_SEARCH, max_uses: DEFAULT_MAX_USES }, { name: 'get_time', input_schema: { type: 'object' } }])
    await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask, tools: [{ ...WEB_SEARCH, max_uses: 7 }] })
    expect(upstream.calls[1]!.body.tools).toEqual([{ ...WEB_SEARCH, max_uses: 7 }])
  })

  test('the hold is max_uses × the per-use price, and the input over every pass of the loop (1 + max_uses): the prompt each time, each result after its use, the output after the first', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 10, output_tokens: 5 }))
    const plain = await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask })
    const searching = await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask, tools: [{ ...WEB_SEARCH, max_uses: 4 }] })
    const plainInput = plain.reserved - HELD_OUTPUT
    const toolBytes = textBytes([{ ...WEB_SEARCH, max_uses: 4 }])
    expect(searching.reserved - HELD_OUTPUT - 4 * 10_000).toBeGreaterThanOrEqual(loopInput(plainInput, 4))
    expect(searching.reserved - HELD_OUTPUT - 4 * 10_000).toBeLessThanOrEqual(loopInput(plainInput + toolBytes + TOOL_USE_OVERHEAD_TOKENS, 4))
  })
})

describe('Anthropic web fetch: tokens only, each page bounded by max_content_tokens and held at that bound', () => {
  test('max_uses and max_content_tokens are injected when unset (the default uses, the per-use input allowance); the client\'s are kept; no price is needed', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, server_tool_use: { web_fetch_requests: 1 } }))
    expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, tools: [WEB_FETCH] })).cost).toBe(120)
    expect(upstream.calls[0]!.body.tools).toEqual([{ ...WEB_FETCH, max_uses: DEFAULT_MAX_USES, max_content_tokens: USE_INPUT_TOKENS }])
    const own = { ...WEB_FETCH, max_uses: 2, max_content_tokens: 5000 }
    await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, tools: [own] })
    expect(upstream.calls[1]!.body.tools).toEqual([own])
  })

  test('the hold covers the input over every pass of the loop (1 + max_uses), each page at the per-use content bound after its use', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 10, output_tokens: 5 }))
    const plain = await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask })
    const plainInput = plain.reserved - HELD_OUTPUT
    const injected = await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, tools: [WEB_FETCH] })
    expect(injected.reserved - HELD_OUTPUT).toBeGreaterThanOrEqual(loopInput(plainInput, DEFAULT_MAX_USES))
    expect(injected.reserved - HELD_OUTPUT).toBeLessThanOrEqual(loopInput(plainInput + textBytes([WEB_FETCH]) + TOOL_USE_OVERHEAD_TOKENS, DEFAULT_MAX_USES))
    const own = { ...WEB_FETCH, max_uses: 2, max_content_tokens: 5000 }
    const client = await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask, tools: [own] })
    expect(client.reserved - HELD_OUTPUT).toBeGreaterThanOrEqual(loopInput(plainInput, 2, 5000))
    expect(client.reserved - HELD_OUTPUT).toBeLessThanOrEqual(loopInput(plainInput + textBytes([own]) + TOOL_USE_OVERHEAD_TOKENS, 2, 5000))
  })
})

describe('Anthropic code execution: a billed server tool, per execution', () => {
  const EXECUTION = 50_000 // $0.05 on ant:m
  // Anthropic's usage never counts executions: its server_tool_use names only web_search_requests and
  // web_fetch_requests (@anthropic-ai/sdk ServerToolUsage). An execution shows only as a server_tool_use block.
  const REAL_USAGE = { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 } }
  const ran = (id: string, name: string, input: Record<string, unknown>) => [
    { type: 'server_tool_use', id, name, input },
    { type: `${name}_tool_result`, tool_use_id: id, content: { type: `${name}_result`, stdout: '42\n', stderr: '', return_code: 0, content: [] } },
  ]
  const EXECUTED = [...ran('srvtoolu_1', 'bash_code_execution', { command: 'python -c "print(6*7)"' }), { type: 'text', text: '42' }]

  test('JSON: each server_tool_use block of code execution (bash and text-editor calls too) is an execution at the per-use price; sent as it came', async () => {
    const body = { model: 'ant:m', max_tokens: 50, messages: ask, tools: [CODE_EXECUTION] }
    upstream.answer(() => anthropicMessage(REAL_USAGE, EXECUTED))
    expect((await settled('/v1/messages', body)).cost).toBe(120 + EXECUTION)
    expect(upstream.calls[0]!.body.tools).toEqual([CODE_EXECUTION])
    const twice = [...ran('srvtoolu_1', 'bash_code_execution', { command: 'ls' }), ...ran('srvtoolu_2', 'text_editor_code_execution', { command: 'view', path: 'a' }), { type: 'text', text: 'Done.' }]
    upstream.answer(() => anthropicMessage(REAL_USAGE, twice))
    expect((await settled('/v1/messages', body)).cost).toBe(120 + 2 * EXECUTION)
    upstream.answer(() => anthropicMessage(REAL_USAGE, ran('srvtoolu_1', 'code_execution', { code: 'print(1)' })))
    expect((await settled('/v1/messages', body)).cost).toBe(120 + EXECUTION)
  })

  test('SSE: the execution blocks the finished stream showed, at the per-use price', async () => {
    upstream.answer(() =>
      sseResponse([
        anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 100, output_tokens: 1 } } }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: EXECUTED[0] }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'content_block_start', index: 1, content_block: EXECUTED[1] }),
        anthropicEvent({ type: 'content_block_stop', index: 1 }),
        anthropicEvent({ type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: '42' } }),
        anthropicEvent({ type: 'content_block_stop', index: 2 }),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 10, server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 } } }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    expect((await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask, tools: [CODE_EXECUTION], stream: true })).cost).toBe(120 + EXECUTION)
  })

  test('a usage that did count executions (code_execution_requests) is billed at the larger of its count and the blocks shown, JSON and SSE', async () => {
    const body = { model: 'ant:m', max_tokens: 50, messages: ask, tools: [CODE_EXECUTION] }
    upstream.answer(() => anthropicMessage({ ...REAL_USAGE, server_tool_use: { code_execution_requests: 2 } }, EXECUTED))
    expect((await settled('/v1/messages', body)).cost).toBe(120 + 2 * EXECUTION)
    upstream.answer(() => anthropicMessage({ ...REAL_USAGE, server_tool_use: { code_execution_requests: 0 } }, EXECUTED))
    expect((await settled('/v1/messages', body)).cost).toBe(120 + EXECUTION)
    upstream.answer(() => anthropicStream({ input_tokens: 100, output_tokens: 1 }, { output_tokens: 10, server_tool_use: { code_execution_requests: 1 } }))
    expect((await settled('/v1/messages', { ...body, stream: true })).cost).toBe(120 + EXECUTION)
  })

  test('an answer that ran no code pays its tokens only', async () => {
    upstream.answer(() => anthropicMessage(REAL_USAGE))
    expect((await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask, tools: [CODE_EXECUTION] })).cost).toBe(120)
  })

  test('the hold covers the default max uses × the per-use price, and the input with their allowances once per pass of the loop', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 10, output_tokens: 5 }))
    const plain = await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask })
    const running = await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask, tools: [CODE_EXECUTION] })
    const plainInput = plain.reserved - HELD_OUTPUT
    const fees = DEFAULT_MAX_USES * EXECUTION
    expect(running.reserved - HELD_OUTPUT - fees).toBeGreaterThanOrEqual(loopInput(plainInput, DEFAULT_MAX_USES))
    expect(running.reserved - HELD_OUTPUT - fees).toBeLessThanOrEqual(loopInput(plainInput + textBytes([CODE_EXECUTION]) + TOOL_USE_OVERHEAD_TOKENS, DEFAULT_MAX_USES))
  })

  test('a stream cut before its usage pays the executions it began: bash and text-editor calls are executions', async () => {
    const events = [
      anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 100, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'bash_code_execution', input: { command: 'ls' } } }),
      anthropicEvent({ type: 'content_block_start', index: 1, content_block: { type: 'server_tool_use', id: 'srvtoolu_2', name: 'text_editor_code_execution', input: { command: 'view', path: 'a' } } }),
    ]
    upstream.answer(() => new Response(new ReadableStream<Uint8Array>({ start: (c) => events.forEach((e) => c.enqueue(new TextEncoder().encode(e))) }), { headers: { 'content-type': 'text/event-stream' } }))
    const row = await settledRow(gw, USER, async () => {
      const res = await fetch(gw.url + '/v1/messages', {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'ant:m', max_tokens: 50, messages: ask, tools: [CODE_EXECUTION], stream: true }),
      })
      const reader = res.body!.getReader()
      let text = ''
      while (!text.includes('text_editor_code_execution')) text += new TextDecoder().decode((await reader.read()).value)
      await reader.cancel()
    })
    expect(row.status).toBe('aborted')
    // Held: the input over every pass of the loop (1 + max_uses, `loopInput`), the output, the executions.
    const inputEstimate = (row.reserved - HELD_OUTPUT - DEFAULT_MAX_USES * EXECUTION - loopInput(0, DEFAULT_MAX_USES)) / (1 + DEFAULT_MAX_USES)
    // Each block's name, and its input given whole as its JSON text (keys included, as its deltas would be).
    const delivered = 'bash_code_execution'.length + '{"command":"ls"}'.length + 'text_editor_code_execution'.length + '{"command":"view","path":"a"}'.length
    expect(row.cost).toBe(inputEstimate + delivered * 2 + 2 * EXECUTION)
  })
})

describe('Anthropic MCP connector: refused, nothing bounds what its servers answer', () => {
  test('mcp_servers: 400 naming the field, before any hold or upstream call', async () => {
    await gw.settled()
    const rows = gw.query('SELECT count(*) AS n FROM usage')[0].n
    const mcp_servers = [{ type: 'url', url: 'https://mcp.example.com/sse', name: 'docs' }]
    const { status, text } = await post('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask, mcp_servers }, { 'anthropic-beta': 'mcp-client-2025-04-04' })
    expect(status).toBe(400)
    expect(text).toContain('mcp_servers')
    expect(upstream.calls).toHaveLength(0)
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM usage')[0].n).toBe(rows)
  })
})

describe('Anthropic advisor tool: refused, its advice is a sub-inference on another model the gateway does not bill', () => {
  // advisor_20260301 names an advisor model; its pass comes back as an `advisor_message` iteration, billed at
  // that model's rates. The gateway prices one model a request, so it is refused rather than served free or short.
  const ADVISOR = { type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-7' }
  const BETA = { 'anthropic-beta': 'advisor-tool-2026-03-01' }

  test('advisor_*: 400 naming the tool (feature_unsupported), before any hold or upstream call, whether or not its model is priced', async () => {
    await gw.settled()
    const rows = gw.query('SELECT count(*) AS n FROM usage')[0].n
    for (const tool of [ADVISOR, { ...ADVISOR, model: 'claude-unpriced-9' }]) {
      upstream.answer(() => anthropicMessage({ input_tokens: 1300, output_tokens: 120 }))
      const { status, text } = await post('/v1/messages', { model: 'ant:m', max_tokens: 500, messages: ask, tools: [tool] }, BETA)
      expect(status).toBe(400)
      expect(text).toContain('advisor_20260301')
    }
    expect(upstream.calls).toHaveLength(0)
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM usage')[0].n).toBe(rows)
  })
})

describe('Anthropic server-side compaction: its pass is held for and billed', () => {
  const COMPACT = { 'anthropic-beta': 'compact-2026-01-12' }
  const compacting = { model: 'ant:bare', max_tokens: 50, messages: ask, context_management: { edits: [{ type: 'compact_20260112' }] } }
  // The top-level counts are the answer's pass only; the iterations list the compaction pass too.
  const usage = {
    input_tokens: 2_300, output_tokens: 100,
    iterations: [{ type: 'compaction', input_tokens: 18_000, output_tokens: 350 }, { type: 'message', input_tokens: 2_300, output_tokens: 100 }],
  }
  const BOTH_PASSES = 18_000 + 2_300 + 2 * (350 + 100)

  test('every iteration the usage lists is billed, JSON and SSE', async () => {
    upstream.answer(() => anthropicMessage(usage))
    expect((await settled('/v1/messages', compacting, COMPACT)).cost).toBe(BOTH_PASSES)
    upstream.answer(() => anthropicStream({ input_tokens: 2_300, output_tokens: 1 }, usage))
    expect((await settled('/v1/messages', { ...compacting, stream: true }, COMPACT)).cost).toBe(BOTH_PASSES)
  })

  test('iterations without their counts make the usage unreadable: billed as one without usage (the hold)', async () => {
    upstream.answer(() => anthropicMessage({ ...usage, iterations: [{ type: 'compaction' }, usage.iterations[1]] }))
    const row = await settled('/v1/messages', compacting, COMPACT)
    expect(row.cost).toBe(row.reserved)
  })

  test('the hold covers a second pass over the input and the output; context editing that only clears content is held once', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 10, output_tokens: 5 }))
    const plain = await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask })
    const compacted = await settled('/v1/messages', compacting, COMPACT)
    const field = textBytes(compacting.context_management)
    expect(compacted.reserved).toBeGreaterThanOrEqual(2 * plain.reserved)
    expect(compacted.reserved).toBeLessThanOrEqual(2 * (plain.reserved + field))
    const clearing = { model: 'ant:bare', max_tokens: 50, messages: ask, context_management: { edits: [{ type: 'clear_tool_uses_20250919' }, { type: 'clear_thinking_20251015' }] } }
    const cleared = await settled('/v1/messages', clearing, { 'anthropic-beta': 'context-management-2025-06-27' })
    expect(upstream.calls.at(-1)!.body.context_management).toEqual(clearing.context_management)
    expect(cleared.reserved).toBeGreaterThanOrEqual(plain.reserved)
    expect(cleared.reserved).toBeLessThanOrEqual(plain.reserved + textBytes(clearing.context_management))
  })
})

describe('settlement charges what the usage reports', () => {
  const searchBody = { model: 'ant:m', max_tokens: 50, messages: ask, tools: [{ ...WEB_SEARCH, max_uses: 5 }] }
  const SEARCH_COST = 100 + 2 * 10 + 2 * 10_000 // tokens, and 2 searches at $0.01

  test('messages → Anthropic, JSON: server_tool_use.web_search_requests × the per-use price', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, server_tool_use: { web_search_requests: 2 } }))
    expect((await settled('/v1/messages', searchBody)).cost).toBe(SEARCH_COST)
  })

  test('messages → Anthropic, SSE: the searches counted in message_delta', async () => {
    upstream.answer(() => anthropicStream({ input_tokens: 100, output_tokens: 1 }, { output_tokens: 10, server_tool_use: { web_search_requests: 2 } }))
    expect((await settled('/v1/messages', { ...searchBody, stream: true })).cost).toBe(SEARCH_COST)
  })

  test('the usage row shows the cache writes and the searches it was charged for, in /v1/usage and its CSV', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 100, cache_creation_input_tokens: 1000, output_tokens: 10, server_tool_use: { web_search_requests: 2 } }))
    const row = await settled('/v1/messages', searchBody)
    expect(row.cost).toBe(100 + 1000 * 1.25 + 2 * 10 + 2 * 10_000) // ant:m has no cache-write rate: writes at 1.25 × the input rate
    const listed = (await gw.admin('GET', `/v1/usage?user_id=${USER}&limit=1`)).body.data[0]
    expect(listed).toMatchObject({ cost: row.cost / 1e6, prompt_tokens: 1100, cached_tokens: 0, cache_write_tokens: 1000, server_tool_uses: { web_search: 2 } })
    const csv = (await (await fetch(`${gw.url}/v1/usage/csv?user_id=${USER}`, { headers: gw.master })).text()).split('\r\n')
    const header = csv[0]!.split(',')
    expect(header.slice(-2)).toEqual(['cache_write_tokens', 'server_tool_uses'])
    expect(csv[1]!.endsWith(',1000,"{""web_search"":2}"')).toBe(true)

    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10 }))
    const plain = await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask })
    expect((await gw.admin('GET', `/v1/usage?user_id=${USER}&limit=1`)).body.data[0]).toMatchObject({
      cost: plain.cost / 1e6, prompt_tokens: 100, cache_write_tokens: 0, server_tool_uses: {},
    })
  })

  test('messages → Anthropic: a tool the answer reports no use of costs nothing', async () => {
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10 }))
    expect((await settled('/v1/messages', searchBody)).cost).toBe(120)
  })

  test('fast mode: every token at the tier multiplier, JSON and SSE', async () => {
    const body = { model: 'ant:m', max_tokens: 50, messages: ask, speed: 'fast' }
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, speed: 'fast' }))
    expect((await settled('/v1/messages', body)).cost).toBe(6 * 120)
    upstream.answer(() => anthropicStream({ input_tokens: 100, output_tokens: 1, speed: 'fast' }, { output_tokens: 10 }))
    expect((await settled('/v1/messages', { ...body, stream: true })).cost).toBe(6 * 120)
    // Served at standard speed after all (the provider says so): the plain rates.
    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, speed: 'standard' }))
    expect((await settled('/v1/messages', body)).cost).toBe(120)
  })

  test('long context: a prompt past 200K tokens at the long_context multiplier, JSON and SSE; a shorter one at the plain rates', async () => {
    const beta = { 'anthropic-beta': 'context-1m-2025-08-07' }
    const body = { model: 'ant:m', max_tokens: 50, messages: [{ role: 'user', content: 'x'.repeat(250_000) }] }
    upstream.answer(() => anthropicMessage({ input_tokens: 150_000, cache_read_input_tokens: 60_000, output_tokens: 10 }))
    expect((await settled('/v1/messages', body, beta)).cost).toBe(2 * (150_000 + 60_000 + 20))
    upstream.answer(() => anthropicStream({ input_tokens: 210_000, output_tokens: 1 }, { output_tokens: 10 }))
    expect((await settled('/v1/messages', { ...body, stream: true }, beta)).cost).toBe(2 * (210_000 + 20))
    upstream.answer(() => anthropicMessage({ input_tokens: 200_000, output_tokens: 10 }))
    expect((await settled('/v1/messages', body, beta)).cost).toBe(200_000 + 20)
  })

  test('long context with long_context_output: input and cache at long_context, output at long_context_output, held and settled', async () => {
    const beta = { 'anthropic-beta': 'context-1m-2025-08-07' }
    const body = { model: 'ant:lc', max_tokens: 1000, messages: [{ role: 'user', content: 'x'.repeat(250_000) }] }
    // 150,000 input + 60,000 cache reads + 1,000 5-minute writes (at 1.25) at 2×; 1,000 output at $2/M × 1.5.
    upstream.answer(() => anthropicMessage({ input_tokens: 150_000, cache_read_input_tokens: 60_000, cache_creation_input_tokens: 1000, output_tokens: 1000 }))
    const row = await settled('/v1/messages', body, beta)
    expect(row.cost).toBe(2 * (150_000 + 60_000 + 1250) + 1.5 * 2000)
    // Held: the estimate's input at 2× and the 1,000 output tokens at 1.5×: 1,000 micro-USD below the same
    // request held with one multiplier of 2 on every token kind (ant:m).
    const single = await settled('/v1/messages', { ...body, model: 'ant:m' }, beta)
    expect(row.reserved).toBe(single.reserved - 1000)
    upstream.answer(() => anthropicMessage({ input_tokens: 200_000, output_tokens: 10 }))
    expect((await settled('/v1/messages', body, beta)).cost).toBe(200_000 + 20)
  })

  describe('US-only inference (inference_geo "us"): the inference_geo_us multiplier', () => {
    const body = { model: 'ant:m', max_tokens: 50, messages: ask, inference_geo: 'us' }

    test('held at the multiplier: the hold of the same request at the global default, times 1.1', async () => {
      upstream.answer(() => anthropicMessage({ input_tokens: 10, output_tokens: 5 }))
      const global = await settled('/v1/messages', { ...body, inference_geo: 'global' })
      const us = await settled('/v1/messages', body)
      expect(upstream.calls[1]!.body.inference_geo).toBe('us')
      // The estimate counts the field's value as input: "us" is 4 bytes (4 micro-USD at $1/M) shorter than "global".
      expect(us.reserved).toBeGreaterThanOrEqual(Math.ceil((global.reserved - 4) * 1.1))
      expect(us.reserved).toBeLessThanOrEqual(Math.ceil(global.reserved * 1.1))
      expect(us.reserved - global.reserved).toBeGreaterThanOrEqual(10)
    })

    test('settled at the multiplier on every token kind (cache reads and writes too), JSON and SSE', async () => {
      // 100 input + 1000 cache reads (no cached rate: the input rate) + 1000 5-minute writes at 1.25 + 10 output at $2/M.
      const usage = { input_tokens: 100, cache_read_input_tokens: 1000, cache_creation_input_tokens: 1000, output_tokens: 10 }
      const global = 100 + 1000 + 1250 + 20
      upstream.answer(() => anthropicMessage({ ...usage, inference_geo: 'us' }))
      expect((await settled('/v1/messages', body)).cost).toBe(2607) // 2370 × 1.1
      expect(global * 1.1).toBeCloseTo(2607)
      upstream.answer(() => anthropicStream({ input_tokens: 100, output_tokens: 1, inference_geo: 'us' }, { output_tokens: 10 }))
      expect((await settled('/v1/messages', { ...body, stream: true })).cost).toBe(132)
      // Stated in message_delta only: the last statement wins.
      upstream.answer(() => anthropicStream({ input_tokens: 100, output_tokens: 1 }, { output_tokens: 10, inference_geo: 'us' }))
      expect((await settled('/v1/messages', { ...body, stream: true })).cost).toBe(132)
    })

    test('what the usage reports wins: asked for and not stated, the multiplier; stated global, the plain rates; stated us unasked (a workspace default), the multiplier', async () => {
      upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10 }))
      expect((await settled('/v1/messages', body)).cost).toBe(132)
      upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, inference_geo: 'global' }))
      expect((await settled('/v1/messages', body)).cost).toBe(120)
      upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, inference_geo: 'us' }))
      expect((await settled('/v1/messages', { model: 'ant:m', max_tokens: 50, messages: ask })).cost).toBe(132)
      // A model priced without it has nothing to bill it with: the global rates.
      expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: ask })).cost).toBe(120)
    })

    test('on top of fast mode and of the long context window', async () => {
      upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, speed: 'fast', inference_geo: 'us' }))
      expect((await settled('/v1/messages', { ...body, speed: 'fast' })).cost).toBe(792) // 120 × 6 × 1.1
      upstream.answer(() => anthropicMessage({ input_tokens: 210_000, output_tokens: 10, inference_geo: 'us' }))
      const long = { ...body, messages: [{ role: 'user', content: 'x'.repeat(250_000) }] }
      expect((await settled('/v1/messages', long, { 'anthropic-beta': 'context-1m-2025-08-07' })).cost).toBe(462_044) // 210,020 × 2 × 1.1
    })

    test('chat and the Responses API towards Anthropic carry no inference_geo: never sent, billed at the global rates', async () => {
      upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10 }))
      expect((await settled('/v1/chat/completions', { model: 'ant:m', max_tokens: 50, messages: ask, inference_geo: 'us' })).cost).toBe(120)
      expect((await settled('/v1/responses', { model: 'ant:m', max_output_tokens: 50, input: 'hi', inference_geo: 'us', store: false })).cost).toBe(120)
      expect(upstream.calls).toHaveLength(2)
      for (const call of upstream.calls) {
        expect(call.path).toBe('/v1/messages')
        expect(call.body).not.toHaveProperty('inference_geo')
      }
    })
  })

  describe('cache writes: at the cache-write rate, or by the fallback rule where none is set', () => {
    const marked = (ttl?: string) => [
      { role: 'user', content: [{ type: 'text', text: 'A long prefix', cache_control: { type: 'ephemeral', ...(ttl ? { ttl } : {}) } }] },
    ]
    const writes = { input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 1000 }
    const split = { ...writes, cache_creation: { ephemeral_5m_input_tokens: 600, ephemeral_1h_input_tokens: 400 } }

    test('no rate set: 5-minute writes at 1.25 × input, JSON and SSE', async () => {
      upstream.answer(() => anthropicMessage(writes))
      expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: marked() })).cost).toBe(100 + 1250 + 20)
      upstream.answer(() => anthropicStream({ input_tokens: 100, output_tokens: 1, cache_creation_input_tokens: 1000 }, { output_tokens: 10 }))
      expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: marked(), stream: true })).cost).toBe(100 + 1250 + 20)
    })

    test('no rate set: 1-hour writes at 2 × input, by the split the usage reports, else by the ttl the request asked for', async () => {
      upstream.answer(() => anthropicMessage(split))
      expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: marked('1h') })).cost).toBe(100 + 600 * 1.25 + 400 * 2 + 20)
      upstream.answer(() => anthropicMessage(writes))
      expect((await settled('/v1/messages', { model: 'ant:bare', max_tokens: 50, messages: marked('1h') })).cost).toBe(100 + 1000 * 2 + 20)
    })

    test('rates set: each lifetime at its own rate, JSON and SSE', async () => {
      const cost = 100 + 600 * 3 + 400 * 5 + 20
      upstream.answer(() => anthropicMessage(split))
      expect((await settled('/v1/messages', { model: 'ant:rates', max_tokens: 50, messages: marked('1h') })).cost).toBe(cost)
      upstream.answer(() => anthropicStream({ input_tokens: 100, output_tokens: 1, cache_creation_input_tokens: 1000, cache_creation: split.cache_creation }, { output_tokens: 10 }))
      expect((await settled('/v1/messages', { model: 'ant:rates', max_tokens: 50, messages: marked('1h'), stream: true })).cost).toBe(cost)
    })

    test('chat → Anthropic: cache writes the provider reports are billed at their rate, JSON and SSE', async () => {
      upstream.answer(() => anthropicMessage(writes))
      expect((await settled('/v1/chat/completions', { model: 'ant:bare', max_tokens: 50, messages: ask })).cost).toBe(100 + 1250 + 20)
      upstream.answer(() => anthropicStream({ input_tokens: 100, output_tokens: 1, cache_creation_input_tokens: 1000 }, { output_tokens: 10 }))
      expect((await settled('/v1/chat/completions', { model: 'ant:bare', max_tokens: 50, messages: ask, stream: true })).cost).toBe(100 + 1250 + 20)
    })

    test('the hold covers the cache-write rate of the longest lifetime the request marks', async () => {
      upstream.answer(() => anthropicMessage({ input_tokens: 1, output_tokens: 1 }))
      const body = { model: 'ant:bare', max_tokens: 1 }
      const none = await settled('/v1/messages', { ...body, messages: [{ role: 'user', content: [{ type: 'text', text: 'A long prefix', cache_control: null }] }] })
      const fiveMinutes = await settled('/v1/messages', { ...body, messages: marked() })
      const oneHour = await settled('/v1/messages', { ...body, messages: marked('1h') })
      const input = none.reserved - 2 // the output token at $2/M
      expect(fiveMinutes.reserved).toBeGreaterThanOrEqual(Math.ceil(input * 1.25))
      expect(oneHour.reserved).toBeGreaterThanOrEqual(input * 2)
    })
  })

  describe('OpenAI service tiers: the tier the answer reports, at its multiplier', () => {
    test('chat → OpenAI, JSON and SSE: priority ×2, flex ×0.5', async () => {
      upstream.answer(() => completion({ prompt_tokens: 100, completion_tokens: 10 }, { service_tier: 'priority' }))
      expect((await settled('/v1/chat/completions', { model: 'plain:m', messages: ask, service_tier: 'priority' })).cost).toBe(240)
      upstream.answer(() => completionStream({ prompt_tokens: 100, completion_tokens: 10 }, { service_tier: 'priority' }))
      expect((await settled('/v1/chat/completions', { model: 'plain:m', messages: ask, service_tier: 'priority', stream: true })).cost).toBe(240)
      upstream.answer(() => completion({ prompt_tokens: 100, completion_tokens: 10 }, { service_tier: 'flex' }))
      expect((await settled('/v1/chat/completions', { model: 'plain:m', messages: ask, service_tier: 'flex' })).cost).toBe(60)
    })

    test('chat → OpenAI: an answer that names no tier is billed at the tier asked for', async () => {
      upstream.answer(() => completion({ prompt_tokens: 100, completion_tokens: 10 }))
      expect((await settled('/v1/chat/completions', { model: 'plain:m', messages: ask, service_tier: 'priority' })).cost).toBe(240)
    })

    test('messages → OpenAI, JSON and SSE: a priority tier the provider reports (a project default) is billed', async () => {
      upstream.answer(() => completion({ prompt_tokens: 100, completion_tokens: 10 }, { service_tier: 'priority' }))
      expect((await settled('/v1/messages', { model: 'plain:m', max_tokens: 50, messages: ask })).cost).toBe(240)
      upstream.answer(() => completionStream({ prompt_tokens: 100, completion_tokens: 10 }, { service_tier: 'priority' }))
      expect((await settled('/v1/messages', { model: 'plain:m', max_tokens: 50, messages: ask, stream: true })).cost).toBe(240)
    })
  })

  describe('audio tokens at the audio rates', () => {
    const usage = { prompt_tokens: 100, completion_tokens: 50, prompt_tokens_details: { audio_tokens: 60 }, completion_tokens_details: { audio_tokens: 40 } }
    const AUDIO_COST = 40 * 1 + 60 * 40 + 10 * 2 + 40 * 80
    const body = {
      model: 'plain:m',
      modalities: ['text', 'audio'],
      audio: { voice: 'alloy', format: 'wav' },
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }],
    }

    test('chat → OpenAI, JSON and SSE', async () => {
      upstream.answer(() => completion(usage))
      expect((await settled('/v1/chat/completions', body)).cost).toBe(AUDIO_COST)
      upstream.answer(() => completionStream(usage))
      expect((await settled('/v1/chat/completions', { ...body, stream: true })).cost).toBe(AUDIO_COST)
    })

    test('chat → OpenAI: an earlier audio answer by id is held as an audio part (the media bound) at the audio input rate', async () => {
      upstream.answer(() => completion({ prompt_tokens: 2_020, completion_tokens: 10, prompt_tokens_details: { audio_tokens: 2_000 } }))
      const row = await settled('/v1/chat/completions', { model: 'plain:m', max_completion_tokens: 10, messages: askAfterAudio })
      expect(row.cost).toBe(20 * 1 + 2_000 * 40 + 10 * 2)
      expect(row.reserved).toBeGreaterThanOrEqual(MEDIA_PART_TOKENS * 40 + 10 * 2)
    })

    test('messages → OpenAI: audio the provider reports is billed at the audio rates too', async () => {
      upstream.answer(() => completion(usage))
      expect((await settled('/v1/messages', { model: 'plain:m', max_tokens: 50, messages: ask })).cost).toBe(AUDIO_COST)
    })
  })

  describe('OpenAI web search: one search per request, at the per-use price', () => {
    test('chat → OpenAI with web_search_options, JSON and SSE', async () => {
      upstream.answer(() => completion({ prompt_tokens: 100, completion_tokens: 10 }))
      expect((await settled('/v1/chat/completions', { model: 'plain:m', messages: ask, web_search_options: {} })).cost).toBe(120 + 25_000)
      upstream.answer(() => completionStream({ prompt_tokens: 100, completion_tokens: 10 }))
      expect((await settled('/v1/chat/completions', { model: 'plain:m', messages: ask, web_search_options: {}, stream: true })).cost).toBe(120 + 25_000)
    })

    test('a search model searches on every request: chat and messages → OpenAI', async () => {
      upstream.answer(() => completion({ prompt_tokens: 100, completion_tokens: 10 }))
      expect((await settled('/v1/chat/completions', { model: 'plain:gpt-4o-search-preview', messages: ask })).cost).toBe(120 + 25_000)
      expect((await settled('/v1/messages', { model: 'plain:gpt-4o-search-preview', max_tokens: 50, messages: ask })).cost).toBe(120 + 25_000)
    })
  })
})

describe('through the official clients', () => {
  test('@anthropic-ai/sdk: web search is refused unpriced (402), and billed per search where priced', async () => {
    const anthropic = new Anthropic({ apiKey: secret, baseURL: gw.url, maxRetries: 0 })
    const tools = [{ type: 'web_search_20250305' as const, name: 'web_search' as const }]
    const refused = await anthropic.messages.create({ model: 'ant:bare', max_tokens: 50, messages: [{ role: 'user', content: 'news?' }], tools }).catch((e) => e)
    expect(refused).toBeInstanceOf(Anthropic.APIError)
    expect(refused.status).toBe(402)
    expect(refused.message).toContain('web_search')

    upstream.answer(() => anthropicMessage({ input_tokens: 100, output_tokens: 10, server_tool_use: { web_search_requests: 3 } }))
    const row = await settledRow(gw, USER, async () => {
      const message = await anthropic.messages.create({ model: 'ant:m', max_tokens: 50, messages: [{ role: 'user', content: 'news?' }], tools })
      expect(message.usage.server_tool_use?.web_search_requests).toBe(3)
    })
    expect(upstream.calls.at(-1)!.body.tools[0].max_uses).toBe(DEFAULT_MAX_USES)
    expect(row.cost).toBe(120 + 3 * 10_000)
  })

  test('openai: a priority request is billed at its multiplier, streamed', async () => {
    const openai = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
    const refused = await openai.chat.completions.create({ model: 'plain:bare', messages: [{ role: 'user', content: 'hi' }], service_tier: 'priority' }).catch((e) => e)
    expect(refused).toBeInstanceOf(OpenAI.APIError)
    expect(refused.status).toBe(402)

    upstream.answer(() => completionStream({ prompt_tokens: 100, completion_tokens: 10 }, { service_tier: 'priority' }))
    const row = await settledRow(gw, USER, async () => {
      const stream = await openai.chat.completions.create({ model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], service_tier: 'priority', stream: true })
      let text = ''
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
      expect(text).toBe('Done.')
    })
    expect(row.cost).toBe(240)
  })
})

describe('with cap-output on, a billed tool nothing bounds is refused', () => {
  test('code execution (no max_uses): 400 feature_unsupported before any hold or call, so its executions cannot pass the budget', async () => {
    const capped = await startTestGateway({
      config: {
        providers: scriptedProviders(upstream),
        cap_output_tokens: true,
        pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_execution: 0.05, web_search: 0.01 } } },
      },
    })
    try {
      const { secret } = await capped.userWithKey({ id: 'capped-code', max_budget: 1 })
      const ask = (tools: unknown[]) =>
        fetch(`${capped.url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'ant:m', max_tokens: 4_096, tools, messages: [{ role: 'user', content: 'Run ls twelve times.' }] }),
        })
      const refused = await ask([{ type: 'code_execution_20250825', name: 'code_execution' }])
      expect(refused.status).toBe(400)
      expect(await refused.text()).toContain('code_execution_20250825 is not served with cap-output on')
      expect(upstream.calls).toHaveLength(0)
      // Web search takes max_uses: bounded, it is served.
      upstream.answer(() => anthropicMessage({ input_tokens: 10, output_tokens: 5 }))
      expect((await ask([{ type: 'web_search_20250305', name: 'web_search' }])).status).toBe(200)
      await capped.settled()
      expect((await capped.admin('GET', '/v1/users/capped-code')).body.reserved).toBe(0)
    } finally {
      await capped.stop()
    }
  })
})

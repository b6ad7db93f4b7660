import Anthropic from '@anthropic-ai/sdk'
import { beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { KEEP_ALIVE_AFTER_MS } from '../src/translate/convert-stream'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, openAIEvent, scriptedProviders, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'

setDefaultTimeout(30_000)

/**
 * A translated stream (convertStream) has no output for some of what a provider sends while it works: its keep-alive
 * comments (OpenRouter's `: OPENROUTER PROCESSING` while a model queues or reasons), Anthropic's `ping`, and whole
 * phases of output the client's format has no place for (Claude's thinking to a chat client, `reasoning_content` to
 * an Anthropic client). Without a keep-alive of its own, the client's connection carried not a byte for as long as
 * the model thought (minutes at a 16k thinking budget), and an idle cut on the way (a load balancer's 60 s,
 * Cloudflare's 100 s) killed a stream the provider was still generating, and that the user paid for.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'translated-keep-alive'
withScriptedGateway((u) => ({
  providers: { ...scriptedProviders(u), chat: { ...scriptedProviders(u).plain, responses: 'chat' } },
  pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 }, 'chat:m': { input_per_million: 1, output_per_million: 2 } },
}), (s) => ({ upstream, gw } = s))
beforeAll(async () => {
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})

const TICKS = 14
const TICK_MS = 150
/**
 * The most a translated stream's client waits for bytes while the provider is at work: a keep-alive once a pull has
 * waited KEEP_ALIVE_AFTER_MS, sent at the next provider event (TICK_MS on), with room for a loaded machine.
 */
const TRANSLATED_MAX_GAP_MS = KEEP_ALIVE_AFTER_MS + 3 * TICK_MS
/**
 * How long the provider works in the tests of that bound: GAP_TICKS * TICK_MS (3 s), past a first keep-alive (at
 * ~1.15 s) by more than the bound, so that a stream which keeps alive once and then goes silent again (as a whole
 * minute of thinking would find it) passes the bound as surely as one without keep-alives. TICKS (2.1 s) is enough
 * where only a keep-alive's presence, or none, is checked.
 */
const GAP_TICKS = 20
/** Keep-alives are throttled: at most one per KEEP_ALIVE_AFTER_MS of silence (one more for the clock's edges). */
const keepAlives = (text: string) => text.split(':\n\n').length - 1
const MAX_KEEP_ALIVES = Math.ceil((GAP_TICKS * TICK_MS) / KEEP_ALIVE_AFTER_MS) + 1

/** A provider stream: `head`, then `tick(i)` every TICK_MS, `ticks` times (the provider at work), then `tail`. */
const paced = (head: string[], tick: (i: number) => string, tail: string[], ticks = TICKS) => () =>
  new Response(new ReadableStream<Uint8Array>({
    async start(c) {
      const send = (s: string) => c.enqueue(new TextEncoder().encode(s))
      head.forEach(send)
      for (let i = 0; i < ticks; i++) {
        await Bun.sleep(TICK_MS)
        send(tick(i))
      }
      tail.forEach(send)
      c.close()
    },
  }), { headers: { 'content-type': 'text/event-stream' } })

/** The longest the client waited for bytes (from its request on), and all it read. */
async function longestSilence(path: string, body: unknown, headers: Record<string, string>): Promise<{ gapMs: number; text: string }> {
  // From the request on: a client (or a proxy) waiting for the response's first bytes waits as much as for its next ones.
  let last = performance.now()
  const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  let gapMs = 0
  let text = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    const now = performance.now()
    gapMs = Math.max(gapMs, now - last)
    last = now
    text += new TextDecoder().decode(value)
  }
  return { gapMs, text }
}

const messageStart = anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } })
const anthropicHead = [
  messageStart,
  anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
]
const anthropicTail = [
  anthropicEvent({ type: 'content_block_stop', index: 0 }),
  anthropicEvent({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
  anthropicEvent({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Done.' } }),
  anthropicEvent({ type: 'content_block_stop', index: 1 }),
  anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 200 } }),
  anthropicEvent({ type: 'message_stop' }),
]
const thinkingOrPing = (i: number) =>
  i % 3 === 2 ? anthropicEvent({ type: 'ping' }) : anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me think about this step. ' } })

test('native /v1/messages: the client gets bytes all through Claude\'s thinking (the baseline)', async () => {
  upstream.answer(paced(anthropicHead, thinkingOrPing, anthropicTail))
  const { gapMs } = await longestSilence('/v1/messages', { model: 'ant:m', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': secret, 'anthropic-version': '2023-06-01' })
  expect(gapMs).toBeLessThan(TICK_MS * 4)
})

test('chat client -> Anthropic provider: the stream is not silent for the whole of Claude\'s thinking', async () => {
  upstream.answer(paced(anthropicHead, thinkingOrPing, anthropicTail, GAP_TICKS))
  const { gapMs, text } = await longestSilence('/v1/chat/completions', { model: 'ant:m', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${secret}` })
  expect(text).toContain('Done.')
  // The provider sent an event every 150 ms for 3 s; without keep-alives the chat client got nothing in between.
  expect(gapMs).toBeLessThan(TRANSLATED_MAX_GAP_MS)
  expect(keepAlives(text)).toBeGreaterThanOrEqual(1)
  expect(keepAlives(text)).toBeLessThanOrEqual(MAX_KEEP_ALIVES)
})

test('Anthropic client -> OpenAI-compatible provider: the provider\'s keep-alive comments reach the client as `:` (README)', async () => {
  const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(paced([], () => ': OPENROUTER PROCESSING\n\n', [
    chunk({ role: 'assistant', content: 'Done.' }),
    chunk({}, 'stop'),
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } }),
    openAIEvent('[DONE]'),
  ], GAP_TICKS))
  const { gapMs, text } = await longestSilence('/v1/messages', { model: 'plain:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': secret, 'anthropic-version': '2023-06-01' })
  expect(text).toContain('Done.')
  expect(text).toContain(':\n\n')
  expect(gapMs).toBeLessThan(TRANSLATED_MAX_GAP_MS)
  expect(keepAlives(text)).toBeGreaterThanOrEqual(1)
  expect(keepAlives(text)).toBeLessThanOrEqual(MAX_KEEP_ALIVES)
})

test('Anthropic client -> OpenAI-compatible reasoning model: the stream is not silent while the model reasons (`reasoning_content`)', async () => {
  const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(paced([chunk({ role: 'assistant', content: '' })], () => chunk({ reasoning_content: 'Let me think about this step. ' }), [
    chunk({ content: 'Done.' }),
    chunk({}, 'stop'),
    openAIEvent({ id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 100, total_tokens: 110 } }),
    openAIEvent('[DONE]'),
  ], GAP_TICKS))
  const { gapMs, text } = await longestSilence('/v1/messages', { model: 'plain:m', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': secret, 'anthropic-version': '2023-06-01' })
  expect(text).toContain('Done.')
  expect(gapMs).toBeLessThan(TRANSLATED_MAX_GAP_MS)
  expect(keepAlives(text)).toBeGreaterThanOrEqual(1)
  expect(keepAlives(text)).toBeLessThanOrEqual(MAX_KEEP_ALIVES)
})

test('Responses client -> chat provider: the provider\'s keep-alive comments reach the client (README)', async () => {
  const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ id: 'c3', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(paced([], () => ': OPENROUTER PROCESSING\n\n', [
    chunk({ role: 'assistant', content: 'Done.' }),
    chunk({}, 'stop'),
    openAIEvent({ id: 'c3', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } }),
    openAIEvent('[DONE]'),
  ], GAP_TICKS))
  const { gapMs, text } = await longestSilence('/v1/responses', { model: 'chat:m', input: 'hi', store: false, stream: true }, { authorization: `Bearer ${secret}` })
  expect(text).toContain('Done.')
  expect(gapMs).toBeLessThan(TRANSLATED_MAX_GAP_MS)
  expect(keepAlives(text)).toBeGreaterThanOrEqual(1)
  expect(keepAlives(text)).toBeLessThanOrEqual(MAX_KEEP_ALIVES)
})

test('native /v1/chat/completions: the provider\'s keep-alive comments reach the client as `:` (the baseline)', async () => {
  const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ id: 'c4', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(paced([], () => ': OPENROUTER PROCESSING\n\n', [chunk({ role: 'assistant', content: 'Done.' }), chunk({}, 'stop'), openAIEvent('[DONE]')]))
  const { gapMs, text } = await longestSilence('/v1/chat/completions', { model: 'plain:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${secret}` })
  expect(text).toContain(':\n\n')
  expect(gapMs).toBeLessThan(TICK_MS * 4)
})

test('a translated stream whose every provider event has output gains no keep-alive', async () => {
  const textDelta = () => anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'word ' } })
  upstream.answer(paced([messageStart, anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })], textDelta, [
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 20 } }),
    anthropicEvent({ type: 'message_stop' }),
  ]))
  const { text } = await longestSilence('/v1/chat/completions', { model: 'ant:m', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${secret}` })
  expect(text.split('"content":"word "').length - 1).toBe(TICKS)
  expect(keepAlives(text)).toBe(0)
})

/** A fetch for an SDK that keeps a copy of what the gateway sent as it passes to the SDK's own SSE decoder. */
function recordingFetch(): { fetch: typeof fetch; text: () => string } {
  let text = ''
  const decoder = new TextDecoder()
  const recording = async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init)
    if (!res.body) return res
    const copied = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        text += decoder.decode(chunk, { stream: true })
        c.enqueue(chunk)
      },
    }))
    return new Response(copied, { status: res.status, statusText: res.statusText, headers: res.headers })
  }
  return { fetch: recording as typeof fetch, text: () => text }
}

test('the openai SDK reads a translated chat stream with keep-alives in it (chat client -> Anthropic provider)', async () => {
  upstream.answer(paced(anthropicHead, thinkingOrPing, anthropicTail))
  const recorded = recordingFetch()
  const openai = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0, fetch: recorded.fetch })
  const stream = await openai.chat.completions.create({ model: 'ant:m', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: 'hi' }] })
  let content = ''
  let finish: string | null = null
  for await (const chunk of stream) {
    content += chunk.choices[0]?.delta?.content ?? ''
    finish = chunk.choices[0]?.finish_reason ?? finish
  }
  expect(keepAlives(recorded.text())).toBeGreaterThanOrEqual(1)
  expect({ content, finish }).toEqual({ content: 'Done.', finish: 'stop' })
})

test('the Anthropic SDK reads a translated stream with keep-alives in it (Claude Code -> reasoning model)', async () => {
  const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ id: 'c5', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(paced([chunk({ role: 'assistant', content: '' })], (i) => (i % 2 ? ': OPENROUTER PROCESSING\n\n' : chunk({ reasoning_content: 'Let me think. ' })), [
    chunk({ content: 'Done.' }),
    chunk({}, 'stop'),
    openAIEvent({ id: 'c5', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 100, total_tokens: 110 } }),
    openAIEvent('[DONE]'),
  ]))
  const recorded = recordingFetch()
  const anthropic = new Anthropic({ apiKey: secret, baseURL: gw.url, maxRetries: 0, fetch: recorded.fetch })
  const message = await anthropic.messages.stream({ model: 'plain:m', max_tokens: 4000, messages: [{ role: 'user', content: 'hi' }] }).finalMessage()
  expect(keepAlives(recorded.text())).toBeGreaterThanOrEqual(1)
  expect({ content: message.content, stop: message.stop_reason }).toEqual({ content: [{ type: 'text', text: 'Done.' } as never], stop: 'end_turn' })
})

test('the openai SDK reads a translated Responses stream with keep-alives in it (Responses client -> chat provider)', async () => {
  const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ id: 'c6', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(paced([], () => ': OPENROUTER PROCESSING\n\n', [
    chunk({ role: 'assistant', content: 'Done.' }),
    chunk({}, 'stop'),
    openAIEvent({ id: 'c6', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } }),
    openAIEvent('[DONE]'),
  ]))
  const recorded = recordingFetch()
  const openai = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0, fetch: recorded.fetch })
  const stream = await openai.responses.create({ model: 'chat:m', input: 'hi', store: false, stream: true })
  let completed: OpenAI.Responses.Response | undefined
  for await (const event of stream) if (event.type === 'response.completed') completed = event.response
  expect(keepAlives(recorded.text())).toBeGreaterThanOrEqual(1)
  const text = completed?.output.flatMap((item) => (item.type === 'message' ? item.content : [])).map((part) => (part.type === 'output_text' ? part.text : '')).join('')
  expect({ status: completed?.status, text }).toEqual({ status: 'completed', text: 'Done.' })
})

import { describe, expect, test } from 'bun:test'
import { meterAnthropicStream } from '../src/metering/anthropic-stream'
import { EventTemplate, stringBodyBytes } from '../src/metering/event-template'
import { audioOutputTokens, generatedBytes } from '../src/metering/generated-output'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { upstreamSignal } from '../src/providers/upstream'

/**
 * The meters read most events through a learned template instead of `JSON.parse` (src/metering/
 * event-template.ts). Here the meters are checked against a full parse of every event, on random streams:
 * every kind of output, escapes, unicode beyond the BMP, text that looks like `"usage"` or like the
 * template's own keys, shapes that change mid-stream, streams cut anywhere, bytes split anywhere.
 */

/** A small seeded generator (mulberry32), so that a failing stream can be replayed from its seed. */
function random(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: T[]): T => items[int(items.length)]!
  return { next, int, pick }
}
type Random = ReturnType<typeof random>

const PIECES = ['a', 'Hello', ' ', 'é', '中文', '😀', '"', '\\', '\n', '\t', '/', '\u0001', '\u2028', '"usage":{"prompt_tokens":1}', '"content":"x"', '"text":"y"', '}]}', 'data: ', '\r\n\r\n']

function text(r: Random): string {
  let s = ''
  for (let n = r.int(5); n > 0; n--) s += r.pick(PIECES)
  return s
}

/** The stream's bytes cut into reads at random places (inside a character's bytes too). */
function body(events: string[], r: Random): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(events.join(''))
  const cuts = [0]
  for (let at = r.int(40) + 1; at < bytes.length; at += r.int(120) + 1) cuts.push(at)
  cuts.push(bytes.length)
  return new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 1; i < cuts.length; i++) c.enqueue(bytes.slice(cuts[i - 1], cuts[i]))
      c.close()
    },
  })
}

async function run(meter: (upstream: ReadableStream<Uint8Array>, onEnd: (f: StreamFacts) => void) => ReadableStream<Uint8Array>, stream: ReadableStream<Uint8Array>) {
  let facts: StreamFacts | undefined
  const out = await new Response(meter(stream, (f) => (facts = f))).text()
  return { out, facts: facts! }
}

const options = (onEnd: (f: StreamFacts) => void) => ({ idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd })

/** A random chat chunk stream, and the output a full parse of each of its events counts. */
function openAIStream(r: Random) {
  const id = `chatcmpl-${r.int(1000)}`
  const extra = r.next() < 0.3 ? { system_fingerprint: 'fp_1' } : {}
  const chunk = (delta: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
    id, object: 'chat.completion.chunk', created: 1, model: 'gpt-mock', ...extra, ...more,
    choices: [{ index: 0, delta, finish_reason: null }],
  })
  const kinds: Array<() => Record<string, unknown>> = [
    () => chunk({ content: text(r) }),
    () => chunk({ content: text(r) }),
    () => chunk({ content: text(r) }),
    () => chunk({ role: 'assistant', content: text(r) }),
    () => chunk({ refusal: text(r) }),
    () => chunk({ reasoning_content: text(r) }),
    () => chunk({ tool_calls: [{ index: 0, function: { arguments: text(r) } }] }),
    () => chunk({ audio: { data: 'AAAA'.repeat(r.int(50)), transcript: text(r) } }),
    () => chunk({ content: text(r), extra_field: text(r) }),
    () => ({ id, choices: [{ index: 0, delta: { content: text(r) } }, { index: 1, delta: { content: text(r) } }] }),
    () => chunk({}, { obfuscation: text(r) }),
    () => chunk({ content: null }),
  ]
  const payloads: unknown[] = []
  for (let n = r.int(30); n > 0; n--) payloads.push(r.pick(kinds)())
  let expected = 0
  for (const p of payloads as Array<{ choices?: Array<{ delta?: Record<string, unknown> }> }>)
    for (const c of p.choices ?? []) if (c.delta) expected += generatedBytes(c.delta, 'audio') + audioOutputTokens(c.delta.audio)
  const events = payloads.map((p) => `data: ${JSON.stringify(p)}\n\n`)
  const finished = r.next() < 0.5
  if (finished) events.push(`data: ${JSON.stringify({ id, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } })}\n\n`, 'data: [DONE]\n\n')
  return { events, expected, finished }
}

function anthropicStream(r: Random) {
  const index = r.int(3)
  const named = (type: string, payload: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`
  const kinds: Array<() => [string, Record<string, unknown>]> = [
    () => ['content_block_delta', { index, delta: { type: 'text_delta', text: text(r) } }],
    () => ['content_block_delta', { index, delta: { type: 'text_delta', text: text(r) } }],
    () => ['content_block_delta', { index: index + 1, delta: { type: 'thinking_delta', thinking: text(r) } }],
    () => ['content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: text(r) } }],
    () => ['content_block_delta', { index, delta: { type: 'signature_delta', signature: text(r) } }],
    () => ['content_block_start', { index, content_block: { type: 'text', text: text(r) } }],
    () => ['content_block_stop', { index }],
    () => ['ping', {}],
  ]
  const events = [named('message_start', { message: { id: 'msg_1', usage: { input_tokens: 5, output_tokens: 1 } } })]
  let expected = 0
  for (let n = r.int(30); n > 0; n--) {
    const [type, payload] = r.pick(kinds)()
    if (type === 'content_block_start') expected += generatedBytes(payload.content_block)
    if (type === 'content_block_delta') expected += generatedBytes(payload.delta)
    events.push(named(type, payload))
  }
  const finished = r.next() < 0.5
  if (finished) events.push(named('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } }), named('message_stop', {}))
  return { events, expected, finished }
}

describe('stream meters: the template scan and a full parse agree', () => {
  test('on random OpenAI chunk streams, split anywhere and cut anywhere', async () => {
    for (let seed = 1; seed <= 400; seed++) {
      const r = random(seed)
      const { events, expected, finished } = openAIStream(r)
      const { out, facts } = await run((up, onEnd) => meterOpenAIStream(up, { ...options(onEnd), passUsage: true }), body(events, r))
      expect({ seed, bytes: facts.deliveredOutputBytes, end: facts.end }).toEqual({ seed, bytes: expected, end: finished ? 'done' : 'truncated' })
      expect(out.startsWith(events.join(''))).toBe(true)
    }
  })

  test('on random Anthropic event streams, split anywhere and cut anywhere', async () => {
    for (let seed = 1; seed <= 400; seed++) {
      const r = random(seed)
      const { events, expected, finished } = anthropicStream(r)
      const { out, facts } = await run((up, onEnd) => meterAnthropicStream(up, options(onEnd)), body(events, r))
      expect({ seed, bytes: facts.deliveredOutputBytes, end: facts.end }).toEqual({ seed, bytes: expected, end: finished ? 'done' : 'truncated' })
      expect(out.startsWith(events.join(''))).toBe(true)
    }
  })

  test('a malformed event that has a learned shape still stops the stream', async () => {
    const delta = (s: string) => `data: {"id":"c","choices":[{"index":0,"delta":{"content":"${s}"}}]}\n\n`
    const { out, facts } = await run((up, onEnd) => meterOpenAIStream(up, { ...options(onEnd), passUsage: false }), body([delta('ab'), delta('cd'), delta('e"f'), delta('never')], random(1)))
    expect(facts.end).toBe('failed')
    expect(facts.deliveredOutputBytes).toBe(4)
    expect(out).not.toContain('never')
  })
})

describe('EventTemplate', () => {
  const plain = (data: string) => {
    const v = JSON.parse(data) as { type?: string; text?: string; id?: string }
    return v.type === 'delta' ? generatedBytes(v) : null
  }
  const sse = (data: string) => ({ event: null, data, raw: `data: ${data}` })

  test('after one plain event, events of its shape are counted without a parse, others are not matched', () => {
    const template = new EventTemplate(['"text":'], plain)
    const first = '{"type":"delta","id":"x","text":"Hi"}'
    expect(template.match(sse(first))).toBeUndefined()
    template.learn(sse(first), plain(first)!)
    expect(template.match(sse('{"type":"delta","id":"x","text":"é😀\\n"}'))).toBe(7)
    expect(template.match(sse('{"type":"delta","id":"y","text":"Hi"}'))).toBeUndefined()
    expect(template.match(sse('{"type":"delta","id":"x","text":"a"b"}'))).toBeUndefined()
    expect(template.match(sse('{"type":"delta","id":"x","text":"\\u00e9"}'))).toBeUndefined()
  })

  test('a string that is not counted byte for byte is never made a template', () => {
    const template = new EventTemplate(['"id":'], plain)
    const first = '{"type":"delta","text":"Hi","id":"x"}'
    template.learn(sse(first), plain(first)!)
    expect(template.match(sse('{"type":"delta","text":"Hi","id":"zzzz"}'))).toBeUndefined()
  })

  test('string bodies count as Buffer.byteLength counts the decoded string', () => {
    for (const s of ['', 'abc', 'é', '中', '😀', 'a\nb', '"q"', '\\', '/', '\u007f', '\u0800', '\uffff', 'x😀y中é']) {
      const literal = JSON.stringify(s)
      expect(stringBodyBytes(literal, 1, literal.length - 1)).toBe(Buffer.byteLength(s, 'utf8'))
    }
    expect(stringBodyBytes('a\\/b', 0, 4)).toBe(3)
    expect(stringBodyBytes('a"b', 0, 3)).toBe(-1)
    expect(stringBodyBytes('ab\\', 0, 3)).toBe(-1)
    expect(stringBodyBytes('\\x', 0, 2)).toBe(-1)
    expect(stringBodyBytes('\\u0041', 0, 6)).toBe(-1)
  })
})

import { afterEach, expect, test } from 'bun:test'
import { anthropicMeter } from '../src/metering/anthropic-stream'
import { meterEvents, STREAM_ERRORS, type MeterOptions, type StreamFacts } from '../src/metering/metered-stream'
import { openAIMeter } from '../src/metering/openai-stream'
import { upstreamSignal } from '../src/providers/upstream'
import { convertStream } from '../src/translate/convert-stream'
import { ChunksToResponseEvents } from '../src/translate/responses/chunks-to-response-events'
import type { SseEvent } from '../src/translate/sse'
import { anthropicEvent, dataEvents, openAIEvent } from './support/scripted-upstream'

/**
 * A translated stream is metered, then converted. The meter hands the converter the events it read (`meterEvents`),
 * not their text: handed text, the converter decoded it again, parsed it into events again, joined a long event's
 * pieces again and parsed its JSON again, so that one 10 MB event cost a translated Responses stream ~20-60 MB more than
 * the events themselves (test/translated-responses-big-event-memory.alone.test.ts). What the meter gives in an event's place
 * (a provider's error redacted, its own error events, a keep-alive) reaches the converter as events too.
 */
const enc = new TextEncoder()
const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }], ...extra })

/** A provider body sent as `texts`, one read each; left open after them unless `close`. */
const body = (texts: string[], close = true) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const text of texts) c.enqueue(enc.encode(text))
      if (close) c.close()
    },
  })

const options = (onEnd: (facts: StreamFacts) => void = () => {}) => ({ idleTimeoutMs: 30_000, signal: upstreamSignal(60_000), onEnd })
const meterOpenAIEvents = (upstream: ReadableStream<Uint8Array>, o: MeterOptions) => meterEvents(upstream, openAIMeter({ ...o, passUsage: true }), o)
const meterAnthropicEvents = (upstream: ReadableStream<Uint8Array>, o: MeterOptions) => meterEvents(upstream, anthropicMeter(o), o)

async function eventsOf(stream: ReadableStream<SseEvent[]>): Promise<SseEvent[]> {
  const events: SseEvent[] = []
  for await (const read of stream) events.push(...read)
  return events
}

const realParse = JSON.parse
afterEach(() => {
  JSON.parse = realParse
})

test("each event's JSON is parsed once on its way through the meter and the converter (it was parsed by both)", async () => {
  const upstream = body([
    chunk({ role: 'assistant', content: 'Hel' }),
    chunk({ content: 'lo' }),
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }),
    openAIEvent('[DONE]'),
  ])
  let parsed = 0
  JSON.parse = ((...args: Parameters<typeof JSON.parse>) => {
    parsed++
    return realParse(...args)
  }) as typeof JSON.parse
  const translated = convertStream(meterOpenAIEvents(upstream, options()), new ChunksToResponseEvents({}))
  const text = await new Response(translated).text()
  JSON.parse = realParse
  expect(dataEvents(text).map((event) => event.type)).toContain('response.completed')
  expect(dataEvents(text).find((event) => event.type === 'response.completed')!.response.output[0].content[0].text).toBe('Hello')
  // Four chunks of JSON ([DONE] is not parsed): once each.
  expect(parsed).toBe(4)
})

test('the events handed are the ones the meter read: a long one whole, in one piece, its data parsed already', async () => {
  const long = 'x'.repeat(300_000)
  const text = chunk({ role: 'assistant', content: long })
  // Read in 16 KB reads, as a socket gives it; a byte stream would hand it in 64 KB pieces.
  const reads: string[] = []
  for (let i = 0; i < text.length; i += 16_384) reads.push(text.slice(i, i + 16_384))
  const events = await eventsOf(meterOpenAIEvents(body([...reads, openAIEvent('[DONE]')]), options()))
  expect(events.map((event) => event.data === '[DONE]' ? '[DONE]' : (event.parsed as any).choices[0].delta.content.length)).toEqual([300_000, '[DONE]'])
  expect(events[0]!.raw + '\n\n').toBe(text)
})

test("what the meter writes in an event's place reaches the converter as events: a provider's error redacted, a keep-alive, its own error at a truncated end", async () => {
  const secret = 'sk-ant-api03-' + 'k'.repeat(40)
  const upstream = body([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], usage: { input_tokens: 5, output_tokens: 0 } } }),
    ': thinking\n\n',
    anthropicEvent({ type: 'error', error: { type: 'overloaded_error', message: `key ${secret} is overloaded` } }),
  ])
  let facts: StreamFacts | undefined
  const events = await eventsOf(meterAnthropicEvents(upstream, { ...options((f) => (facts = f)), secrets: () => [secret] }))
  expect(events.map((event) => event.event)).toEqual(['message_start', null, 'error'])
  // The keep-alive is the meter's own bare comment: no data, and none of the provider's text.
  expect(events[1]).toEqual({ event: null, data: '', raw: '' })
  const error = realParse(events[2]!.data)
  expect(error.error.type).toBe('overloaded_error')
  expect(error.error.message).not.toContain(secret)
  expect(facts?.end).toBe('failed')

  const truncated = await eventsOf(meterOpenAIEvents(body([chunk({ role: 'assistant', content: 'Hi' })]), options((f) => (facts = f))))
  expect(truncated).toHaveLength(2)
  expect(realParse(truncated[1]!.data).error.message).toBe(STREAM_ERRORS.truncated)
  expect(facts?.end).toBe('truncated')
})

test('a read of many events is converted as what they convert to is handed, not all at once', async () => {
  // One read of 2,000 events of 1 KB (a fast provider, a slow client): handed to the converter in one piece.
  const read: SseEvent[] = Array.from({ length: 2_000 }, (_, i) => ({ event: null, data: `${i}`.padEnd(1_024, '.'), raw: '' }))
  let handedOn = 0
  const source = Object.assign(
    new ReadableStream<SseEvent[]>({
      start(c) {
        c.enqueue(read)
        c.close()
      },
    }),
    { handedOn: () => void handedOn++ },
  )
  let pushed = 0
  const converted = convertStream(source, {
    broken: false,
    push: (event) => (pushed++, `data: ${event.data}\n\n`),
    end: () => '',
  }).getReader()
  const first = await converted.read()
  // The first piece's worth of events (64 KB of text: ~63 of them), not the 2,000.
  expect(first.value!.length).toBeLessThanOrEqual(64 * 1024)
  expect(pushed).toBeLessThan(80)
  // Converted events are let go of.
  expect(read.slice(0, pushed).every((event) => event === undefined)).toBe(true)
  let bytes = first.value!.length
  for (let chunk = await converted.read(); !chunk.done; chunk = await converted.read()) bytes += chunk.value.length
  expect({ pushed, bytes }).toEqual({ pushed: 2_000, bytes: 2_000 * (1_024 + 8) })
  expect(handedOn).toBeGreaterThan(30)
})

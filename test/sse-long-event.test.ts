import { afterEach, beforeEach, expect, test } from 'bun:test'
import { STREAM_ERRORS, type StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { meterResponsesStream } from '../src/metering/responses-stream'
import { upstreamSignal } from '../src/providers/upstream'
import { MAX_EVENT_CHARS, SseParser } from '../src/translate/sse'

/**
 * A long event (a Responses `response.completed` or `output_item.done` repeats every generated image as
 * base64: megabytes each) arrives in many socket reads. The parser looks at each read's text once: were it
 * to rescan the whole partial event on every read (normalise its line endings, search it for the blank
 * line from its start), an event of N bytes in reads of r bytes would cost O(N²/r) on the one thread that
 * serves every request — 16 MB in 16 KB reads took about 10 s of CPU.
 *
 * Time on a shared machine is noise, so the tests count work instead: the characters that string searches
 * (indexOf, includes, replace, split, trim, regular expressions…) run over while the stream is parsed,
 * which must stay a small multiple of the stream's length, however it is cut into reads.
 */
const SCANS = ['indexOf', 'lastIndexOf', 'includes', 'search', 'match', 'matchAll', 'replace', 'replaceAll', 'split', 'trim', 'trimStart', 'trimEnd'] as const
let scanned = 0
const originals: Array<() => void> = []
beforeEach(() => {
  scanned = 0
  for (const name of SCANS) {
    const original = String.prototype[name] as (...args: unknown[]) => unknown
    ;(String.prototype as unknown as Record<string, unknown>)[name] = function (this: string, ...args: unknown[]) {
      const from = name === 'indexOf' || name === 'includes' ? Math.max(0, Number(args[1] ?? 0) || 0) : 0
      scanned += Math.max(0, this.length - from)
      return original.apply(this, args)
    }
    originals.push(() => ((String.prototype as unknown as Record<string, unknown>)[name] = original))
  }
  const exec = RegExp.prototype.exec
  RegExp.prototype.exec = function (this: RegExp, input: string) {
    scanned += Math.max(0, String(input).length - (this.global || this.sticky ? this.lastIndex : 0))
    return exec.call(this, input)
  }
  originals.push(() => (RegExp.prototype.exec = exec))
})
afterEach(() => {
  for (const restore of originals.splice(0)) restore()
})

const enc = new TextEncoder()
const reads = (bytes: Uint8Array, size: number) => {
  const out: Uint8Array[] = []
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size))
  return out
}

test('a 16 MB event in 16 KB reads is metered whole, its text searched a few times, not once per read (it was ~1,000 times)', async () => {
  const image = 'A'.repeat(16 << 20)
  const bytes = enc.encode(
    `event: response.output_item.done\ndata: ${JSON.stringify({ type: 'response.output_item.done', output_index: 0, item: { id: 'ig_1', type: 'image_generation_call', result: image } })}\n\n` +
      `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', response: { id: 'resp_1', output: [], usage: { input_tokens: 5, output_tokens: 10 } } })}\n\n`,
  )
  const chunks = reads(bytes, 16 * 1024)
  let i = 0
  const upstream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (i >= chunks.length) return c.close()
        c.enqueue(chunks[i++]!)
      },
    },
    { highWaterMark: 0 },
  )
  let facts: StreamFacts | undefined
  scanned = 0
  const out = await new Response(meterResponsesStream(upstream, { idleTimeoutMs: 60_000, signal: upstreamSignal(60_000), onEnd: (f) => (facts = f) })).text()
  expect(facts!.end).toBe('done')
  expect(out.length).toBe(bytes.length)
  expect(scanned / bytes.length).toBeLessThan(8)
}, 120_000)

test('the parser alone: a 4 MB event with CRLF line endings searched the same few times whatever the read size; its events are those of one read', () => {
  const text = `event: big\r\ndata: ${'B'.repeat(4 << 20)}\r\n\r\ndata: small\r\n\r\n`
  const bytes = enc.encode(text)
  const parse = (size: number) => {
    const parser = new SseParser()
    scanned = 0
    const events = reads(bytes, size).flatMap((chunk) => parser.push(chunk))
    events.push(...parser.end())
    return { events: events.map(({ event, data }) => ({ event, data: data.length })), perByte: scanned / bytes.length }
  }
  const whole = parse(bytes.length)
  expect(whole.events).toEqual([
    { event: 'big', data: 4 << 20 },
    { event: null, data: 5 },
  ])
  for (const size of [4096, 16 * 1024, 64 * 1024 + 1]) {
    const cut = parse(size)
    expect(cut.events).toEqual(whole.events)
    expect(cut.perByte).toBeLessThan(8)
  }
}, 120_000)

test(`an event is waited for up to ${MAX_EVENT_CHARS / 2 ** 20} Mi characters; past them the parser drops it and gives nothing more`, () => {
  const mb = enc.encode('A'.repeat(1 << 20))
  const fill = (parser: SseParser, chars: number) => {
    for (; chars >= mb.length; chars -= mb.length) expect(parser.push(mb)).toEqual([])
    parser.push(mb.subarray(0, chars))
  }
  const longest = new SseParser()
  longest.push(enc.encode('data: '))
  fill(longest, MAX_EVENT_CHARS - 'data: '.length)
  const [event] = longest.push(enc.encode('\n\ndata: next\n\n'))
  expect(event!.data.length).toBe(MAX_EVENT_CHARS - 'data: '.length)
  expect(longest.overflowed).toBe(false)

  const endless = new SseParser()
  expect(endless.push(enc.encode('data: first\n\ndata: '))).toHaveLength(1)
  fill(endless, MAX_EVENT_CHARS)
  expect(endless.overflowed).toBe(true)
  expect(endless.push(enc.encode('\n\ndata: later\n\n'))).toEqual([])
  expect(endless.end()).toEqual([])
}, 120_000)

test('a provider that never ends its event: the stream stops as malformed once the event passes the cap, the upstream is cancelled, what came before is counted', async () => {
  const first = enc.encode(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hello' } }] })}\n\ndata: {"x":"`)
  const mb = enc.encode('A'.repeat(1 << 20))
  let sent = 0
  let cancelled = false
  const upstream = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        // Bounded all the same, so that a parser without the cap fails this test instead of the machine.
        if (sent > MAX_EVENT_CHARS + 16 * mb.length) return c.close()
        const chunk = sent === 0 ? first : mb
        sent += chunk.length
        c.enqueue(chunk)
      },
      cancel() {
        cancelled = true
      },
    },
    { highWaterMark: 0 },
  )
  let facts: StreamFacts | undefined
  const out = await new Response(meterOpenAIStream(upstream, { passUsage: false, idleTimeoutMs: 60_000, signal: upstreamSignal(60_000), onEnd: (f) => (facts = f) })).text()
  expect(facts!.end).toBe('malformed')
  expect(facts!.deliveredOutputBytes).toBe(5)
  expect(out).toStartWith('data: {"id":"c"')
  expect(out).toContain(STREAM_ERRORS.malformed)
  expect(cancelled).toBe(true)
  expect(sent).toBeGreaterThan(MAX_EVENT_CHARS)
  expect(sent).toBeLessThan(MAX_EVENT_CHARS + 4 * mb.length)
}, 120_000)

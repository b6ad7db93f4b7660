import { afterEach, beforeEach, expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterResponsesStream } from '../src/metering/responses-stream'
import { upstreamSignal } from '../src/providers/upstream'
import { SseParser } from '../src/translate/sse'

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

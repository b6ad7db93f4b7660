import { afterAll, beforeAll, expect, test } from 'bun:test'
import { brotliCompressSync, deflateRawSync, deflateSync } from 'node:zlib'
import { inflated } from '../src/providers/inflated'
import { startTestGateway } from './support/gateway'

/**
 * The gateway fetches its providers' answers with `decompress: false` and decompresses them itself (`inflated`), a
 * piece at a time: Bun's fetch decompressed each socket read whole, so a gzip answer of 398 KiB inflating to 400 MiB
 * reached the answer's byte bound as chunks of 100-200 MB (test/json-answer-inflated-past-bound.alone.test.ts: peak RSS
 * 193-283 MB against its 200 MB ceiling, failing 3 runs in 5; now 122-124 MB). Every coding fetch would have undone
 * still is, and the headers are fetch's.
 */
const ANSWER = JSON.stringify({ id: 'chatcmpl-1', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there. '.repeat(2_000) } }] })
const raw = Buffer.from(ANSWER)
const CODINGS: Record<string, Uint8Array> = {
  gzip: Bun.gzipSync(raw),
  'x-gzip': Bun.gzipSync(raw),
  deflate: deflateSync(raw),
  br: brotliCompressSync(raw),
  zstd: Bun.zstdCompressSync(raw),
}
let server: ReturnType<typeof Bun.serve>

beforeAll(() => {
  server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const coding = new URL(req.url).pathname.slice(1)
      if (coding === 'bomb') return new Response(Bun.gzipSync(Buffer.alloc(64 << 20, 0x61)), { headers: { 'content-encoding': 'gzip' } })
      if (coding === 'identity') return new Response(raw, { headers: { 'content-type': 'application/json' } })
      if (coding.startsWith('deflate-')) {
        // Under the name `deflate`: zlib's format or the bare stream, its first byte alone in a read of its own.
        const [, form] = coding.split('-')
        const bytes = form === 'raw' ? deflateRawSync(raw) : deflateSync(raw)
        const body = new ReadableStream({
          async pull(controller) {
            controller.enqueue(bytes.subarray(0, 1))
            await Bun.sleep(20)
            controller.enqueue(bytes.subarray(1))
            controller.close()
          },
        })
        return new Response(body, { headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' } })
      }
      return new Response(CODINGS[coding], { headers: { 'content-type': 'application/json', 'content-encoding': coding } })
    },
  })
})
afterAll(() => server.stop(true))

const fetchInflated = async (path: string) => inflated(await fetch(`http://127.0.0.1:${server.port}/${path}`, { decompress: false }))

test.each(Object.keys(CODINGS))('a %s answer is decompressed, with the headers fetch gives', async (coding) => {
  const res = await fetchInflated(coding)
  expect(await res.text()).toBe(ANSWER)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-encoding')).toBe(coding)
  expect(res.headers.get('content-length')).toBe(String(CODINGS[coding]!.length))
})

test.each(['raw', 'zlib'])('a deflate answer in the %s format is decompressed, as fetch did, though its first read is one byte', async (form) => {
  const res = await fetchInflated(`deflate-${form}`)
  expect(await res.text()).toBe(ANSWER)
  expect(res.headers.get('content-encoding')).toBe('deflate')
})

test('an answer with no coding is the one fetched, untouched', async () => {
  const fetched = await fetch(`http://127.0.0.1:${server.port}/identity`, { decompress: false })
  expect(inflated(fetched)).toBe(fetched)
  expect(await fetched.text()).toBe(ANSWER)
})

test('a gzip bomb is read 64 KB at a time, whatever the reads on the wire', async () => {
  const reader = (await fetchInflated('bomb')).body!.getReader()
  let largest = 0
  let total = 0
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    largest = Math.max(largest, read.value.length)
    total += read.value.length
  }
  expect({ largest, total }).toEqual({ largest: 64 * 1024, total: 64 << 20 })
})

test('an answer with no body to decompress is the one fetched: a 204, an empty body', () => {
  const noContent = new Response(null, { status: 204, headers: { 'content-encoding': 'gzip' } })
  expect(inflated(noContent)).toBe(noContent)
  const empty = new Response('', { headers: { 'content-encoding': 'gzip', 'content-length': '0' } })
  expect(inflated(empty)).toBe(empty)
})

test('the gateway asks its provider for an answer not compressed, and reads one compressed anyway', async () => {
  const asked: Array<string | null> = []
  const completion = { id: 'chatcmpl-1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }
  const provider = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      await req.text()
      asked.push(req.headers.get('accept-encoding'))
      return new Response(Bun.gzipSync(Buffer.from(JSON.stringify(completion))), { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
    },
  })
  const gw = await startTestGateway({
    config: {
      providers: {
        plain: { type: 'openai', base_url: `http://127.0.0.1:${provider.port}/v1`, api_key: 'sk-scripted-secret-0123456789' },
        // A provider's own headers win: an operator may ask for compression.
        zipped: { type: 'openai', base_url: `http://127.0.0.1:${provider.port}/v1`, api_key: 'sk-scripted-secret-0123456789', headers: { 'Accept-Encoding': 'gzip' } },
      },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'zipped:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  try {
    const { secret } = await gw.userWithKey({ id: 'inflated-answer', max_budget: 10 })
    for (const model of ['plain:m', 'zipped:m']) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 16 }),
      })
      expect(res.status).toBe(200)
      expect(((await res.json()) as typeof completion).choices[0]!.message.content).toBe('Hi')
    }
    expect(asked).toEqual(['identity', 'gzip'])
  } finally {
    await gw.stop()
    provider.stop(true)
  }
})

/**
 * Red team (jy), changed to what the fix guarantees: a chat JSON answer past the 32 MiB floor (up to the 256 MiB
 * ceiling a request such as n: 4 × 32K tokens × top_logprobs: 20 of a cheap model is bounded at) is held several
 * times its size while it is parsed, scanned for credentials and written again on the request thread (one of 240 MiB
 * took the gateway from 362 to 1,462 MB and held /health for 2.2 s). Such answers are read one at a time
 * (src/providers/large-answer-turn.ts): two at once take about the memory of one, the second waiting, its provider's
 * socket back-pressured, instead of twice. The thread is still held for one answer's parse (README says so).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { highWaterRssMb, rssMb } from './support/peak-rss'

const N = 4
const TARGET_BYTES = 120 * 1024 * 1024

let wire: Uint8Array
const provider = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    await req.text()
    return new Response(wire, { headers: { 'content-type': 'application/json' } })
  },
})

let gw: SpawnedGateway
let secret: string
let tokens = 0

beforeAll(async () => {
  const alt = (j: number) => `{"token":" w${j}","logprob":-1.234567,"bytes":[32,119,49,50,51]}`
  const entry = `{"token":" w","logprob":-1.234567,"bytes":[32,119],"top_logprobs":[${Array.from({ length: 20 }, (_, j) => alt(j)).join(',')}]}`
  tokens = Math.floor(TARGET_BYTES / N / (entry.length + 2))
  const content = `[${Array(tokens).fill(entry).join(',')}]`
  const choice = (i: number) => `{"index":${i},"message":{"role":"assistant","content":"${'w'.repeat(tokens)}"},"logprobs":{"content":${content}},"finish_reason":"length"}`
  const text = `{"id":"chatcmpl-x","object":"chat.completion","created":1,"model":"gpt-4.1-nano","choices":[${Array.from({ length: N }, (_, i) => choice(i)).join(',')}],"usage":{"prompt_tokens":12,"completion_tokens":${N * tokens},"total_tokens":${12 + N * tokens}}}`
  wire = new TextEncoder().encode(text)
  const started = performance.now()
  JSON.parse(text)
  console.log(`JSON.parse: ${(((performance.now() - started) * 100 * 1024 * 1024) / wire.byteLength).toFixed(0)} ms per 100 MiB`)
  gw = await spawnGateway({
    config: {
      providers: { oai: { type: 'openai', base_url: `http://127.0.0.1:${provider.port}/v1`, api_key: 'sk-upstream-secret-0123456789' } },
      pricing: { 'oai:gpt-4.1-nano': { input_per_million: 0.1, output_per_million: 0.4 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'rt-jy-ceil', max_budget: 1 }))
}, 120_000)

afterAll(async () => {
  await gw?.stop()
  await provider.stop(true)
})

async function send(): Promise<number> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'oai:gpt-4.1-nano', n: N, max_tokens: 32_768, logprobs: true, top_logprobs: 20, messages: [{ role: 'user', content: 'Go.' }] }),
  })
  // Read and let go chunk by chunk: the client's copy is no part of the gateway's memory this measures.
  for await (const _ of res.body!);
  return res.status
}

/**
 * The gateway's own peak resident memory over `base` while `work` runs: its high-water mark, reset first (writing 5 to
 * clear_refs), which a sampler would miss while the gateway's thread is held by a parse.
 */
async function peakOver(base: number, work: () => Promise<unknown>): Promise<number> {
  const pid = gw.proc.pid
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
  await work()
  return highWaterRssMb(pid) - base
}

test('two large answers at once take about the memory of one, not twice', async () => {
  const base = rssMb(gw.proc.pid)
  const started = performance.now()
  const one = await peakOver(base, async () => expect(await send()).toBe(200))
  const oneMs = performance.now() - started
  await Bun.sleep(500)
  const two = await peakOver(base, async () => expect(await Promise.all([send(), send()])).toEqual([200, 200]))
  console.log(`answer ${(wire.byteLength / 1024 / 1024).toFixed(0)} MiB (${N} x ${tokens} tokens, ${oneMs.toFixed(0)} ms): peak RSS over ${base.toFixed(0)} MB: one alone +${one.toFixed(0)} MB, two at once +${two.toFixed(0)} MB`)
  expect(two).toBeLessThan(one * 1.4)
}, 180_000)

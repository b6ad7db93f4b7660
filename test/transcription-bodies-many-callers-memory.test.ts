/**
 * What is parsed from a body lives about four times its size in the gateway's memory for the whole provider call, so
 * bodies in flight are counted at their memory, not their bytes. Counted at their bytes (128 MiB of them, a quarter
 * per caller), five keys with one 24 MB transcription each waiting on Whisper were all admitted, and the gateway
 * peaked past 400 MB. Now the rest are refused 503 `body_read_busy` and the gateway stays under the 200 MB ceiling
 * the README and transcription-bodies-in-flight-memory.test.ts hold it to, however many callers share it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { rssMb } from './support/peak-rss'

const CALLERS = 5
const FILE_BYTES = 24_000_000
const CEILING_MB = 200
const PROVIDER_WORK_MS = 12_000

let received = 0
const upstream = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  idleTimeout: 0,
  async fetch(req) {
    await req.arrayBuffer()
    received++
    await Bun.sleep(PROVIDER_WORK_MS)
    return Response.json({ text: 'hello' })
  },
})

let gw: SpawnedGateway
const secrets: string[] = []

beforeAll(async () => {
  gw = await spawnGateway({
    config: {
      providers: { up: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-up-0123456789abcdef' } },
      pricing: { 'up:whisper-1': { input_per_million: 0, output_per_million: 0, per_request: 0.001 } },
    },
  })
  for (let i = 0; i < CALLERS; i++) secrets.push((await gw.userWithKey({ id: `many-callers-${i}`, max_budget: 1 })).secret)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  upstream.stop(true)
})

test('one transcription in flight for each of a few keys does not take the gateway past its memory ceiling', async () => {
  const audio = new Uint8Array(FILE_BYTES)
  audio.set(new TextEncoder().encode('RIFF\0\0\0\0WAVE'))
  const before = rssMb(gw.proc.pid)
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(gw.proc.pid))), 50)
  const answers: Array<Promise<number>> = []
  for (let i = 0; i < CALLERS; i++) {
    const form = new FormData()
    form.append('model', 'up:whisper-1')
    form.append('file', new File([audio], `call-${i}.wav`, { type: 'audio/wav' }))
    let answered = false
    answers.push(
      fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secrets[i]}` }, body: form })
        .then(async (r) => (await r.arrayBuffer(), r.status))
        .catch(() => 0)
        .finally(() => (answered = true)),
    )
    // Each body is read alone (within the read budget), once the last has reached the provider.
    const deadline = Date.now() + 20_000
    while (received <= i && !answered && Date.now() < deadline) await Bun.sleep(20)
  }
  await Bun.sleep(1000)
  const inFlight = received
  const statuses = await Promise.all(answers)
  clearInterval(sampler)
  console.log(`${inFlight} transcriptions of ${FILE_BYTES / 1e6} MB from ${CALLERS} keys in flight at once: RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; statuses ${statuses.join(',')}`)
  expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
  expect(peak).toBeLessThan(CEILING_MB)
}, 120_000)

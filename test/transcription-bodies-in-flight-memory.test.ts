/**
 * A transcription's body (a 24 MB file, and the form rebuilt for the provider) lives until the provider answers,
 * which for Whisper on a 25 MB file is tens of seconds. The body read budget (64 MiB, a quarter per caller) counts
 * such a body until its request's answer is over, not only while it is read: one key sending a dozen of them, each
 * after the last has reached the provider, has one in flight and the rest refused 503 `body_read_busy`, and the
 * gateway stays under the 200 MB ceiling the README and slow-bodies-memory.test.ts hold it to.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { rssMb } from './support/peak-rss'

const BODIES = 12
const FILE_BYTES = 24_000_000
const CEILING_MB = 200
/** How long the provider works on each file (Whisper takes tens of seconds on 25 MB of audio). */
const PROVIDER_WORK_MS = 15_000

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
let secret: string

beforeAll(async () => {
  gw = await spawnGateway({
    config: {
      providers: { up: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-up-0123456789abcdef' } },
      pricing: { 'up:whisper-1': { input_per_million: 0, output_per_million: 0, per_request: 0.001 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'transcription-bodies-in-flight', max_budget: 1 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  upstream.stop(true)
})

test('transcriptions waiting on the provider do not pin the gateway past its memory ceiling', async () => {
  const audio = new Uint8Array(FILE_BYTES)
  audio.set(new TextEncoder().encode('RIFF\0\0\0\0WAVE'))
  const before = rssMb(gw.proc.pid)
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(gw.proc.pid))), 50)
  const answers: Array<Promise<number>> = []
  for (let i = 0; i < BODIES; i++) {
    const form = new FormData()
    form.append('model', 'up:whisper-1')
    form.append('file', new File([audio], `call-${i}.wav`, { type: 'audio/wav' }))
    let answered = false
    answers.push(
      fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
        .then(async (r) => (await r.arrayBuffer(), r.status))
        .catch(() => 0)
        .finally(() => (answered = true)),
    )
    // The next body only once this one has reached the provider (or was refused): each is read alone, within the read budget.
    const deadline = Date.now() + 20_000
    while (received <= i && !answered && Date.now() < deadline) await Bun.sleep(20)
  }
  await Bun.sleep(500)
  const inFlight = received
  const statuses = await Promise.all(answers)
  clearInterval(sampler)
  console.log(`${inFlight} transcriptions of ${FILE_BYTES / 1e6} MB reached the provider: RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; statuses ${statuses.join(',')}`)
  expect(peak).toBeLessThan(CEILING_MB)
  expect(statuses[0]).toBe(200)
  expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
}, 120_000)

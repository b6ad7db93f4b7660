/**
 * A body of 950 KB was read whole by Bun (it read bodies declared at 960 KiB or less whole), not in pieces, yet what is
 * parsed from it lives as long as its provider's call just the same. Such bodies were counted nowhere: one key splitting
 * its context into 950 KB requests (a coding agent's sub-agents in parallel, or anyone wanting around the bound) had 120
 * of them in flight at once, ~114 MB of bodies, and the gateway peaked past 300 MB. A body read now counts in flight once
 * it is in (one over 64 KiB is read chunk by chunk since 51492d6f, each chunk claimed as it comes), refused 503
 * `body_read_busy` past its caller's share, and the gateway stays under its 200 MB ceiling.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { rssMb } from './support/peak-rss'
import { waitFor } from './support/wait-for'

const REQUESTS = 120
const BODY_BYTES = 950_000
const CEILING_MB = 200
const PROVIDER_WORK_MS = 8_000

let received = 0
const upstream = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  idleTimeout: 0,
  async fetch(req) {
    await req.arrayBuffer()
    received++
    await Bun.sleep(PROVIDER_WORK_MS)
    return Response.json({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-x',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
    })
  },
})

let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  gw = await spawnGateway({
    config: {
      providers: { up: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-up-0123456789abcdef' } },
      pricing: { 'up:gpt-x': { input_per_million: 0.01, output_per_million: 0.01 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'small-bodies-in-flight', max_budget: 100 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  upstream.stop(true)
})

test("one key's bodies in flight stay within its share, and the gateway under its memory ceiling, whatever size they are split in", async () => {
  const head = '{"model":"up:gpt-x","max_tokens":5,"messages":[{"role":"user","content":"'
  const tail = '"}]}'
  const before = rssMb(gw.proc.pid)
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(gw.proc.pid))), 50)
  const answers: Array<Promise<number>> = []
  let refused = 0
  for (let i = 0; i < REQUESTS; i++) {
    // Each body its own string (distinct text), as real contexts are.
    const body = head + String(i).padStart(6, '0') + 'x'.repeat(BODY_BYTES - head.length - tail.length - 6) + tail
    answers.push(
      fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body })
        .then(async (r) => (await r.arrayBuffer(), r.status))
        .catch(() => 0)
        .then((status) => (status === 200 || refused++, status)),
    )
    if (i % 10 === 9) await Bun.sleep(50)
  }
  // Every request has either reached the provider (which holds it PROVIDER_WORK_MS) or been refused.
  await waitFor(30_000, () => received + refused >= REQUESTS)
  const inFlight = received
  const statuses = await Promise.all(answers)
  clearInterval(sampler)
  const served = statuses.filter((s) => s === 200).length
  console.log(`${inFlight} bodies of ${BODY_BYTES / 1e3} KB from one key reached the provider at once: RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB; ${served} served, statuses ${[...new Set(statuses)].join(',')}`)
  expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
  expect(peak).toBeLessThan(CEILING_MB)
}, 120_000)

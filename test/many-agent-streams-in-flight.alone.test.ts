/**
 * Coding agents late in a session (Claude Code, Codex) send ~700 KB bodies whose answers stream for minutes. A body
 * was counted in flight at its peak memory while read and parsed (four times its bytes) for the whole stream, though
 * once it has gone to the provider most of that is garbage: with the default read budget, 48 such streams from four
 * keys got 7 refused 503 `body_read_busy` (`process_in_flight`), and 40 from one key 9 (`caller_in_flight`), with
 * the gateway far under its 200 MB. They are all served now, and the gateway stays under that ceiling.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { PeakRss } from './support/peak-rss'

const BODY_BYTES = 700_000
const CEILING_MB = 200
const STAGGER_MS = 60

let mock: MockProvider
let gw: SpawnedGateway

beforeAll(async () => {
  // Each stream takes ~7 s, long enough for all of them to be in flight at once (begun over ~3 s).
  mock = startMockProvider({ chunks: 24, chunkDelayMs: 250 })
  gw = await spawnGateway({ mock })
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

/** `count` streams of ~700 KB bodies, spread over `secrets` in turn, begun `STAGGER_MS` apart: each one's status and error code. */
async function streams(count: number, secrets: string[], tag: string): Promise<string[]> {
  const head = '{"model":"mock:gpt-mock","stream":true,"max_tokens":256,"messages":[{"role":"user","content":"'
  const tail = '"}]}'
  const answers: Array<Promise<string>> = []
  for (let i = 0; i < count; i++) {
    // Each body its own string (distinct text), as real contexts are.
    const marker = `${tag}${String(i).padStart(4, '0')}`
    const body = head + marker + 'x'.repeat(BODY_BYTES - head.length - tail.length - marker.length) + tail
    answers.push(
      fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secrets[i % secrets.length]}`, 'content-type': 'application/json' }, body })
        .then(async (r) => {
          const text = await r.text()
          return r.status === 200 && text.includes('[DONE]') ? 'ok' : `${r.status} ${text.slice(0, 200)}`
        })
        .catch((e) => `failed ${e}`),
    )
    // Agents' turns begin apart, not in the same instant: every stream is still open when the last one begins.
    await Bun.sleep(STAGGER_MS)
  }
  return Promise.all(answers)
}

async function servedAll(count: number, keys: number, tag: string) {
  const secrets: string[] = []
  for (let k = 0; k < keys; k++) secrets.push((await gw.userWithKey({ id: `${tag}-agent-${k}`, max_budget: 100 })).secret)
  const rss = new PeakRss(gw.proc.pid)
  const results = await streams(count, secrets, tag)
  const { before, peak } = rss.stop()
  const refused = results.filter((r) => r !== 'ok')
  console.log(`${count} streams of ${BODY_BYTES / 1e3} KB over ${keys} key(s): ${count - refused.length} served; RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB${refused.length ? `; first refusal: ${refused[0]}` : ''}`)
  expect(refused).toEqual([])
  expect(peak).toBeLessThan(CEILING_MB)
}

test('48 concurrent agent streams of 700 KB bodies from four keys are all served, within the memory ceiling', () => servedAll(48, 4, 'four'), 90_000)

test('40 concurrent agent streams of 700 KB bodies from one key are all served, within the memory ceiling', () => servedAll(40, 1, 'one'), 90_000)

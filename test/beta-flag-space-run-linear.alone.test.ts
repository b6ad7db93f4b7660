/**
 * A beta flag is trimmed by a scan in from each end (src/providers/anthropic-beta.ts). A regex for its end
 * (`[…]+$`) is tried at every position of the flag, each running over a whole run of spaces before failing at the
 * character after it: a flag `"a" + 64,000 spaces + "x"` took ~7 s, the square of the run. The flags a client sends
 * are bounded (4 KB, header and body together) before they are read, which still left some 12 ms of the request thread
 * for a 4 KB run on each request, header or body, `count_tokens` (free) too, while every other tenant's request waits.
 *
 * The gateway runs as a child process so that what its request thread runs for such requests can be measured
 * (support/request-thread-hold): a request refused for a 4 KB flag costs it under a millisecond.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { betaFlagList } from '../src/providers/anthropic-beta'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { quietThread, threadRanDuring } from './support/request-thread-hold'

/** A flag with a run of `n` spaces inside it, the run as long as the 4 KB bound allows by default. */
const spacedFlag = (n = 4_000, space = ' ') => `a${space.repeat(n)}x`

const REQUESTS = 20
/** The request thread's run for one refused request, whatever the flag: under 1 ms here, 12 ms before on this machine. */
const MS_PER_REQUEST = 4

let mock: MockProvider
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock, config: { log_level: 'warn', pricing: { 'mockant:claude-mock': { input_per_million: 3, output_per_million: 15 } } } })
  ;({ secret } = await gw.userWithKey({ id: 'flag-space-run', max_budget: 10 }))
  await quietThread(gw.proc.pid)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('a flag with a run of 64,000 spaces inside is read in linear time', () => {
  for (const space of [' ', '\x85', '\u3000']) {
    const t = performance.now()
    expect(betaFlagList(`${spacedFlag(64_000, space)},b`)).toEqual([spacedFlag(64_000, space), 'b'])
    expect(performance.now() - t).toBeLessThan(500)
  }
})

const MESSAGES = { model: 'mockant:claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }

const SENT = [
  ['a Messages body\'s `betas`', '/v1/messages', { ...MESSAGES, betas: [spacedFlag()] }, {}],
  ['the anthropic-beta header', '/v1/messages', MESSAGES, { 'anthropic-beta': spacedFlag() }],
  ['the anthropic-beta header on count_tokens', '/v1/messages/count_tokens', { model: MESSAGES.model, messages: MESSAGES.messages }, { 'anthropic-beta': spacedFlag() }],
] as const

for (const [where, path, body, headers] of SENT) {
  test(`${where}: a flag with a 4,000-space run inside costs the request thread a few milliseconds a request`, async () => {
    const statuses: number[] = []
    const ran = await threadRanDuring(gw.proc.pid, async () => {
      for (let i = 0; i < REQUESTS; i++) {
        const res = await fetch(`${gw.url}${path}`, {
          method: 'POST',
          headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        })
        await res.arrayBuffer()
        statuses.push(res.status)
      }
    })
    console.log(`${where}: ${REQUESTS} requests, request thread ran ${ran.toFixed(0)} ms`)
    // Refused: a space inside a flag is outside visible ASCII.
    expect(new Set(statuses)).toEqual(new Set([400]))
    expect(ran).toBeLessThan(REQUESTS * MS_PER_REQUEST)
  }, 60_000)
}

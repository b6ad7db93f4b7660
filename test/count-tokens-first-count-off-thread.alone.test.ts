/**
 * The first count_tokens for a model of an OpenAI-compatible provider loaded gpt-tokenizer's o200k_base (a 2.4 MB
 * module whose evaluation builds the BPE rank tables) with an `import()` on the thread that answers every request:
 * 1–2.4 s during which nothing else was answered, once per process. Now the tables load, and the counting runs, on
 * a thread of its own started by that first count. A gateway in a child process: `bun test` runs every file in one
 * process, and another file (count-tokens.test.ts) has the tokenizer loaded already.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encode } from 'gpt-tokenizer/encoding/o200k_base'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { rssMb } from './support/peak-rss'
import { quietThread, worstHoldDuring } from './support/request-thread-hold'

/** Far below the ~1 s the tables' load held the request thread (measured by what it ran, not the clock). */
const HELD_MS = 150
/** The tables as they were on the request thread (+63 to +75 MB measured) and the tokenizer thread's own VM. */
const RSS_GROWTH_MB = 110

let mock: MockProvider
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock })
  ;({ secret } = await gw.userWithKey({ id: 'first-counter', max_budget: 1 }))
  await quietThread(gw.proc.pid)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

const count = (content: string) =>
  fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content }] }),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as { input_tokens: number } }))

/** Reply priming 3, the message's 3, and its role. */
const OVERHEAD = 3 + 3 + encode('user').length

test("a process's first count_tokens does not hold the request thread while the tokenizer loads, and counts as before", async () => {
  const readme = readFileSync(join(import.meta.dir, '..', 'README.md'), 'utf8')
  const rssBefore = rssMb(gw.proc.pid)
  const counting = count(readme)
  const worst = await worstHoldDuring(gw.url, counting, gw.proc.pid)
  const { status, body } = await counting
  await quietThread(gw.proc.pid)
  const growth = rssMb(gw.proc.pid) - rssBefore
  console.log(`first count_tokens: ${worst}; RSS +${growth.toFixed(0)} MB`)
  expect(status).toBe(200)
  expect(body.input_tokens).toBe(OVERHEAD + encode(readme, { disallowedSpecial: new Set() }).length)
  expect(worst.held).toBeLessThan(HELD_MS)
  expect(growth).toBeLessThan(RSS_GROWTH_MB)

  // The thread stays: a second count answers the same.
  expect((await count(readme)).body.input_tokens).toBe(body.input_tokens)
}, 60_000)

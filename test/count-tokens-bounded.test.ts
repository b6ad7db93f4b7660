import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encode } from 'gpt-tokenizer/encoding/o200k_base'
import { EXACT_BYTES } from '../src/metering/openai-tokens'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * count_tokens on a model of an OpenAI-compatible provider is counted by the gateway itself, with the
 * o200k_base BPE, on the one event loop that answers every request. The BPE's merge is quadratic in the length
 * of one pre-token: a "word" of 60,000 letters (60 kB of a 25 MB body limit) took seconds, 160,000 letters
 * ~86 s, during which the gateway answered nobody. The count is now bounded work: text reaches the tokenizer
 * in pieces of bounded runs, cut where a pre-token ends anyway (so ordinary text counts exactly as whole), the
 * counting yields between slices, and text beyond the first EXACT_BYTES counts its bytes (an upper bound).
 */
let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  ;({ secret } = await gw.userWithKey({ id: 'rc-counter', max_budget: 1 }))
  // The tokenizer's tables load on the first count: load them now, so that the test times the count alone.
  expect((await count('hello')).status).toBe(200)
})

const count = (content: string) =>
  fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content }] }),
  })
const counted = async (content: string) => ((await (await count(content)).json()) as { input_tokens: number }).input_tokens
/** Reply priming 3, the message's 3, and its role. */
const OVERHEAD = 3 + 3 + encode('user').length

afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('a count_tokens request of one 60,000-letter word does not stall the gateway: /health answers within 1.5 s meanwhile', async () => {
  const started = performance.now()
  const counting = count('a'.repeat(60_000))
  // Long enough for the gateway to have read the count request and begun it.
  await Bun.sleep(150)
  const health = await fetch(`${gw.url}/health`)
  const healthAnsweredAfter = performance.now() - started
  expect(health.status).toBe(200)
  // 'aaaaaaaa' is one o200k token: the run cut in pieces counts as it would whole.
  expect(((await (await counting).json()) as { input_tokens: number }).input_tokens).toBe(OVERHEAD + 7500)
  // The gateway in this process: a stalled event loop delays the test's own timer and the /health answer alike.
  expect(healthAnsweredAfter).toBeLessThan(1500)
}, 120_000)

test('ordinary text (this README) counts exactly as the tokenizer counts it whole', async () => {
  const readme = readFileSync(join(import.meta.dir, '..', 'README.md'), 'utf8')
  expect(Buffer.byteLength(readme)).toBeLessThan(EXACT_BYTES)
  expect(await counted(readme)).toBe(OVERHEAD + encode(readme, { disallowedSpecial: new Set() }).length)
})

test('text beyond the first EXACT_BYTES counts its UTF-8 bytes, an upper bound', async () => {
  const text = 'héllo wörld '.repeat(Math.ceil((EXACT_BYTES + 100_000) / Buffer.byteLength('héllo wörld ')))
  // The budget is the request's: the role, counted first, takes its bytes.
  const exactBytes = EXACT_BYTES - Buffer.byteLength('user')
  const exact = Buffer.from(text).subarray(0, exactBytes).toString('utf8')
  expect(Buffer.byteLength(exact)).toBe(exactBytes)
  expect(await counted(text)).toBe(OVERHEAD + encode(exact).length + Buffer.byteLength(text) - exactBytes)
})

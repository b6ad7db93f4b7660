/**
 * README (count_tokens): text reaches the tokenizer "in a run of over 256 characters with no such place
 * (one 60,000-letter "word"), every 256 characters … (the tokenizer's merge is quadratic in a run's length)".
 * bpePieces (src/metering/bpe-pieces.ts) keeps a surrogate pair whole, and once cut nowhere before a low surrogate
 * at all: a run of LONE low surrogates (JSON `"\udc00"`, which JSON.parse keeps) reached gpt-tokenizer as one
 * pre-token, whose merge is quadratic: measured 8,000 of them 235 ms, 16,000 867 ms, 32,000 (96 kB of UTF-8, far
 * under EXACT_BYTES) 3.8 s; the ~166,000 that fit in EXACT_BYTES would have held the tokenizer thread for minutes.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { encode } from 'gpt-tokenizer/encoding/o200k_base'
import { bpePieces } from '../src/metering/bpe-pieces'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const MAX_RUN = 256

test('a run of lone low surrogates is cut every MAX_RUN characters, as any run with no place a token ends', () => {
  const longest = (text: string) => Math.max(...[...bpePieces(text)].map((p) => p.length))
  // The README's promise, as it holds for letters, high surrogates and whole pairs:
  expect(longest('q'.repeat(3000))).toBeLessThanOrEqual(MAX_RUN)
  expect(longest('\uD800'.repeat(3000))).toBeLessThanOrEqual(MAX_RUN)
  expect(longest('😀'.repeat(1500))).toBeLessThanOrEqual(MAX_RUN + 1)
  // ...and for lone low surrogates (received: 3000, one piece).
  expect(longest('\uDC00'.repeat(3000))).toBeLessThanOrEqual(MAX_RUN + 1)
})

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

test('such a run is taken by count_tokens as sent (JSON escapes of lone surrogates are kept) and counted', async () => {
  const { secret } = await gw.userWithKey({ id: 'surrogates', max_budget: 1 })
  const content = '\uDC00'.repeat(2000)
  const res = await fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    // JSON.stringify writes a lone surrogate as the escape `\udc00`, as any client's JSON encoder does.
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content }] }),
  })
  expect(res.status).toBe(200)
  const { input_tokens } = (await res.json()) as { input_tokens: number }
  // Counted by the tokenizer (8 replacement characters a token), not refused or stripped on the way: the run
  // reaches bpePieces as sent, where the unit test above shows it stays one piece.
  expect(input_tokens).toBe(3 + 3 + encode('user').length + encode(content, { disallowedSpecial: new Set() }).length)
}, 60_000)

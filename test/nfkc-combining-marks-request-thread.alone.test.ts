/**
 * Issue 15: a crafted body may cost the request thread no more than 5 ms a kB. Text is counted at the bytes of its
 * NFKC form where more (src/budget/nfkc-bytes.ts); normalizing the text itself put a run of combining marks whose
 * combining classes alternate (U+0301 ccc 230, U+0316 220, U+0327 202, U+0345 240) in canonical order in time
 * quadratic in the run: 48,000 of them (96 kB) held the request thread 1.7–3.9 s on every route, and before the
 * budget's refusal too. The bound is read a code point at a time from a table instead.
 *
 * The gateway runs as a child process so what its request thread runs is measured (support/request-thread-hold).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { quietThread, threadRanDuring } from './support/request-thread-hold'

/** 48,000 combining marks (96 kB of UTF-8), their classes 230, 220, 202, 240 in turn: never in canonical order. */
const MARKS = Array.from({ length: 48_000 }, (_, i) => ['\u0301', '\u0316', '\u0327', '\u0345'][i % 4]).join('')
const MS_PER_KB = 5

let mock: MockProvider
let gw: SpawnedGateway
let secret: string
let brokeSecret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({
    mock,
    config: { log_level: 'warn', pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mockant:claude-mock': { input_per_million: 3, output_per_million: 15 } } },
  })
  ;({ secret } = await gw.userWithKey({ id: 'nfkc-reorder', max_budget: 100 }))
  ;({ secret: brokeSecret } = await gw.userWithKey({ id: 'nfkc-reorder-broke', max_budget: 0.000001 }))
  await quietThread(gw.proc.pid)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const CHAT = { model: 'mock:gpt-mock', max_tokens: 8, messages: [{ role: 'user', content: `a${MARKS}` }] }
const SENT = [
  ['chat completions, a user message', '/v1/chat/completions', CHAT, 200, false],
  ['Messages, a user message', '/v1/messages', { model: 'mockant:claude-mock', max_tokens: 8, messages: [{ role: 'user', content: `a${MARKS}` }] }, 200, false],
  ['Responses, its instructions (translated to Anthropic)', '/v1/responses', { model: 'mockant:claude-mock', max_output_tokens: 16, instructions: `a${MARKS}`, input: 'hi' }, 200, false],
  ['chat completions, a tool\'s description (its JSON text)', '/v1/chat/completions', { ...CHAT, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', description: `a${MARKS}`, parameters: { type: 'object', properties: {} } } }] }, 200, false],
  // Free to the attacker: the estimate runs before the budget refuses the request.
  ['chat completions from a key with no budget left (402)', '/v1/chat/completions', CHAT, 402, true],
] as const

for (const [where, path, body, expected, broke] of SENT) {
  test(`${where}: 96 kB of unordered combining marks cost the request thread under 5 ms a kB`, async () => {
    const sent = JSON.stringify(body)
    const kb = Buffer.byteLength(sent) / 1024
    let status = 0
    const ran = await threadRanDuring(gw.proc.pid, async () => {
      const res = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${broke ? brokeSecret : secret}`, 'x-api-key': broke ? brokeSecret : secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: sent,
      })
      await res.arrayBuffer()
      status = res.status
    })
    console.log(`${where}: ${kb.toFixed(0)} kB, answered ${status}, request thread ran ${ran.toFixed(0)} ms (${(ran / kb).toFixed(2)} ms a kB)`)
    expect(status).toBe(expected)
    expect(ran).toBeLessThan(kb * MS_PER_KB)
  }, 60_000)
}

import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { sendRaw } from './support/raw-http'

/**
 * The `anthropic-beta` flags are read as the most lenient server behind an Anthropic provider reads them, and sent
 * as read. A LiteLLM-style proxy splits the value on commas and strips each flag as Python's `str.strip()` does —
 * U+0085 (NEL) too, which Bun takes in a header value (obs-text) but which is no `\s` in JavaScript — and a router
 * may compare flags in any case. So `CONTEXT-1M-…`, `Context-1M-…` or `\x85context-1m-…` is the 1M flag: refused
 * 402 on a model without a long_context price, as the plain spelling is; and a provider is sent the flags in lower
 * case, trimmed, joined by commas, which is what was priced.
 */

let mock: MockProvider
let gw: TestGateway
let secret: string
let port: number

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      pricing: {
        'mockant:claude-x': { input_per_million: 1, output_per_million: 2 },
        'mockant:claude-long': { input_per_million: 1, output_per_million: 2, service_tiers: { long_context: 2 } },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'beta-spelling', max_budget: 10 })).secret
  port = Number(new URL(gw.url).port)
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

/** A Messages request written byte for byte, its anthropic-beta value as given (latin1: one byte a character). */
function messages(model: string, beta: string) {
  const body = JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
  const head = [
    'POST /v1/messages HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Connection: close', `Authorization: Bearer ${secret}`,
    'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`,
  ].join('\r\n')
  return sendRaw(port, Buffer.concat([Buffer.from(`${head}\r\n`), Buffer.from(`anthropic-beta: ${beta}\r\n\r\n`, 'latin1'), Buffer.from(body)]))
}

const SPELLINGS = [
  ['the plain flag', 'context-1m-2025-08-07', 'context-1m-2025-08-07'],
  ['upper case', 'CONTEXT-1M-2025-08-07', 'context-1m-2025-08-07'],
  ['mixed case after another flag', 'interleaved-thinking-2025-05-14,Context-1M-2025-08-07', 'interleaved-thinking-2025-05-14,context-1m-2025-08-07'],
  ['NEL (U+0085) before it', 'interleaved-thinking-2025-05-14,\x85context-1m-2025-08-07', 'interleaved-thinking-2025-05-14,context-1m-2025-08-07'],
] as const

for (const [name, beta] of SPELLINGS) {
  test(`${name}: on a model without a long_context price, 402 and nothing sent`, async () => {
    const before = mock.calls.length
    const r = await messages('mockant:claude-x', beta)
    expect({ name, status: r.status, sent: mock.calls.length - before }).toEqual({ name, status: 402, sent: 0 })
  })
}

for (const [name, beta, sent] of SPELLINGS) {
  test(`${name}: on a model with one, the provider is sent the flags as priced`, async () => {
    const before = mock.calls.length
    const r = await messages('mockant:claude-long', beta)
    expect(r.status).toBe(200)
    expect(mock.calls.slice(before).map((c) => c.headers['anthropic-beta'])).toEqual([sent])
  })
}

test('spaces and empty items between flags are dropped', async () => {
  const before = mock.calls.length
  expect((await messages('mockant:claude-x', ' interleaved-thinking-2025-05-14 ,, Fine-Grained-Tool-Streaming-2025-05-14\t')).status).toBe(200)
  expect(mock.calls.slice(before).map((c) => c.headers['anthropic-beta'])).toEqual(['interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14'])
})

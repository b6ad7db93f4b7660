import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { sendRaw } from './support/raw-http'

/**
 * Bun hands the gateway a header value one byte a character (latin1), so a Unicode space written as UTF-8 (U+2028 is
 * E2 80 A8, U+3000 is E3 80 80) before `context-1m-…` is no space to it: the flag would not be read, and the bytes
 * would go upstream, where a server that decodes UTF-8 and trims its flags (aiohttp, Go's strings.TrimSpace) reads a
 * clean `context-1m-2025-08-07`: the long-context window open on a model with no long_context price. So a flag that,
 * trimmed as the gateway trims it, still holds a character outside visible ASCII is a 400, in the header or in a
 * Messages body's `betas` / `anthropic_beta`, and nothing is sent.
 */

let mock: MockProvider
let gw: TestGateway
let secret: string
let port: number

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { pricing: { 'mockant:claude-x': { input_per_million: 1, output_per_million: 2 } } },
  })
  secret = (await gw.userWithKey({ id: 'beta-non-ascii', max_budget: 10 })).secret
  port = Number(new URL(gw.url).port)
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const BODY = { model: 'mockant:claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }

/** A Messages request whose anthropic-beta value is the given bytes. */
function withBetaBytes(beta: Buffer) {
  const body = JSON.stringify(BODY)
  const head = [
    'POST /v1/messages HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Connection: close', `Authorization: Bearer ${secret}`,
    'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`,
  ].join('\r\n')
  return sendRaw(port, Buffer.concat([Buffer.from(`${head}\r\nanthropic-beta: `), beta, Buffer.from(`\r\n\r\n${body}`)]))
}

/** What a server that decodes the header as UTF-8 and trims every Unicode space reads as its flags. */
const utf8Flags = (bytes: Buffer) => bytes.toString('utf8').split(',').map((flag) => flag.trim().toLowerCase())

for (const [name, space] of [['U+2028', '\u2028'], ['U+3000', '\u3000'], ['U+205F', '\u205f']] as const) {
  test(`${name} written as UTF-8 before the 1M flag in the header: 400, nothing sent`, async () => {
    const beta = Buffer.from(`interleaved-thinking-2025-05-14,${space}context-1m-2025-08-07`, 'utf8')
    // The premise: such a server reads the 1M flag in this value.
    expect(utf8Flags(beta)).toContain('context-1m-2025-08-07')
    const before = mock.calls.length
    const r = await withBetaBytes(beta)
    expect({ name, status: r.status, sent: mock.calls.length - before }).toEqual({ name, status: 400, sent: 0 })
  })
}

for (const field of ['betas', 'anthropic_beta']) {
  test(`\`${field}\`: a flag with a character outside visible ASCII is a 400, nothing sent`, async () => {
    const before = mock.calls.length
    const r = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...BODY, [field]: ['context\u20111m-2025-08-07'] }),
    })
    const message = ((await r.json()) as { error: { message: string } }).error.message
    expect({ field, status: r.status, names: message.includes(field), sent: mock.calls.length - before }).toEqual({ field, status: 400, names: true, sent: 0 })
  })
}

test('spaces trimmed around a flag are no refusal: a Unicode space in `betas` is read as the lenient server reads it', async () => {
  const before = mock.calls.length
  const r = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...BODY, betas: ['\u3000context-1m-2025-08-07'] }),
  })
  // The 1M flag, read: 402 on this model, as the plain flag is.
  expect({ status: r.status, sent: mock.calls.length - before }).toEqual({ status: 402, sent: 0 })
})

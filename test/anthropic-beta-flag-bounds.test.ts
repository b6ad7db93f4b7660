import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * A client's beta flags, the `anthropic-beta` header's and a Messages body's `betas` / `anthropic_beta` together, are
 * served up to 64 in 4 KB; past that, a 400 before any hold or call. One string of a million flags (2 MB, one JSON
 * value well under max_body_bytes) once overflowed the stack where the flags were gathered: a 500, not an answer.
 * Bun refuses a header block past 16 KB (431) itself.
 */

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { pricing: { 'mockant:claude-x': { input_per_million: 1, output_per_million: 2 } } },
  })
  secret = (await gw.userWithKey({ id: 'beta-flag-bounds', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const post = (body: Record<string, unknown>, beta?: string) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...(beta === undefined ? {} : { 'anthropic-beta': beta }) },
    body: JSON.stringify({ model: 'mockant:claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...body }),
  })

/** `n` distinct flags. */
const flags = (n: number, prefix = 'f') => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

/** The status of a request, and how many calls it made. */
async function answered(request: Promise<Response>) {
  const before = mock.calls.length
  const r = await request
  await r.text()
  return { status: r.status, sent: mock.calls.length - before }
}

for (const field of ['betas', 'anthropic_beta']) {
  test(`\`${field}\`: one string of a million flags (2 MB) is a 400, not a 500`, async () => {
    expect(await answered(post({ [field]: [Array(1_000_000).fill('x').join(',')] }))).toEqual({ status: 400, sent: 0 })
  }, 30_000)

  test(`\`${field}\`: a hundred thousand one-flag items are a 400`, async () => {
    expect(await answered(post({ [field]: Array(100_000).fill('x') }))).toEqual({ status: 400, sent: 0 })
  }, 30_000)
}

test('the header: 64 flags are served, 65 are a 400', async () => {
  expect(await answered(post({}, flags(64).join(',')))).toEqual({ status: 200, sent: 1 })
  expect(await answered(post({}, flags(65).join(',')))).toEqual({ status: 400, sent: 0 })
})

test('the header: a value past 4 KB is a 400, however few its flags', async () => {
  expect(await answered(post({}, `${'a'.repeat(4000)},${'b'.repeat(200)}`))).toEqual({ status: 400, sent: 0 })
})

test('the header and the body together: 40 flags in each are a 400, 40 and 24 are served', async () => {
  expect(await answered(post({ betas: flags(40, 'b') }, flags(40, 'h').join(',')))).toEqual({ status: 400, sent: 0 })
  expect(await answered(post({ betas: flags(24, 'b') }, flags(40, 'h').join(',')))).toEqual({ status: 200, sent: 1 })
})

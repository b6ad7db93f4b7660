/**
 * Mutation guard: the body limit is "larger bodies → 413" (SPEC §config, README "body limit"), so a
 * body of exactly `max_body_bytes` is served and one byte more is refused, whether its length is declared or it is
 * sent chunked. The existing tests use a 900-byte body and a 2 KB one, far from the limit on either side, so an
 * off-by-one (`>=` for `>`) in either check went unnoticed: a client whose body is exactly the limit would be refused.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

const LIMIT = 1024

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { max_body_bytes: LIMIT } })
  secret = (await gw.userWithKey({ id: 'exact-limit', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})
beforeEach(() => mock.reset())

/** A chat body of exactly `bytes` bytes. */
function bodyOf(bytes: number): Uint8Array {
  const empty = JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: '' }] })
  const body = new TextEncoder().encode(JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'x'.repeat(bytes - empty.length) }] }))
  expect(body.byteLength).toBe(bytes)
  return body
}

async function declared(body: Uint8Array) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': String(body.byteLength) },
    body,
  })
  const text = await res.text()
  return { status: res.status, code: res.status === 200 ? null : JSON.parse(text).error?.code }
}

async function chunked(body: Uint8Array) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: new ReadableStream({
      start(c) {
        c.enqueue(body.slice(0, 500))
        c.enqueue(body.slice(500))
        c.close()
      },
    }),
    duplex: 'half',
  } as RequestInit)
  expect(res.headers.get('content-length')).not.toBe(String(body.byteLength))
  const text = await res.text()
  return { status: res.status, code: res.status === 200 ? null : JSON.parse(text).error?.code }
}

test('a body of exactly max_body_bytes with a declared length is served; one byte more is 413', async () => {
  expect(await declared(bodyOf(LIMIT))).toEqual({ status: 200, code: null })
  expect(mock.calls.length).toBe(1)
  expect(await declared(bodyOf(LIMIT + 1))).toEqual({ status: 413, code: 'body_too_large' })
  expect(mock.calls.length).toBe(1)
})

test('a chunked body of exactly max_body_bytes is served; one byte more is 413 and never reaches the provider', async () => {
  expect(await chunked(bodyOf(LIMIT))).toEqual({ status: 200, code: null })
  expect(mock.calls.length).toBe(1)
  expect(await chunked(bodyOf(LIMIT + 1))).toEqual({ status: 413, code: 'body_too_large' })
  expect(mock.calls.length).toBe(1)
})

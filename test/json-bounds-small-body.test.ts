/**
 * Mutation guard: the JSON bounds (depth, values) hold on every path a body is read by. A body declared
 * at most 64 KiB is read whole by Bun (src/plugins/body-limit.ts, `readWhole`), a larger or chunked one chunk by
 * chunk (`readPacedBody`); each path parses it on its own line. The existing deep and broad bodies are all over 64 KiB,
 * so a refactor that parsed the small path with a bare `JSON.parse` (or bounded it one level late) passed every test:
 * a 130-level body of a few hundred bytes would then reach the validators, the case-variant walk and the estimate.
 * Here: just past the depth bound, small and declared, and sent chunked, both 400 `invalid_json`; at the bound, served.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MAX_JSON_DEPTH } from '../src/http/json-body'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  secret = (await gw.userWithKey({ id: 'small-deep-bodies', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const nest = (n: number) => '['.repeat(n) + ']'.repeat(n)
/** The body's own object and the field's array take two levels: `n` levels in `x` make a body n + 1 deep. */
const bodyWith = (levels: number) => `{"model":"mock:gpt-mock","messages":[{"role":"user","content":"x"}],"x":${nest(levels)}}`

async function post(body: string, chunked: boolean) {
  const bytes = new TextEncoder().encode(body)
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: chunked
      ? new ReadableStream({
          start(c) {
            c.enqueue(bytes.slice(0, 10))
            c.enqueue(bytes.slice(10))
            c.close()
          },
        })
      : body,
    ...(chunked && { duplex: 'half' }),
  } as RequestInit)
  const text = await res.text()
  return { status: res.status, code: res.status === 200 ? null : (JSON.parse(text).error?.code as string) }
}

test('a small declared body one level past the depth bound is 400 invalid_json, never sent on; one at the bound is served', async () => {
  const deep = bodyWith(MAX_JSON_DEPTH)
  expect(deep.length).toBeLessThan(64 * 1024)
  const calls = mock.calls.length
  expect(await post(deep, false)).toEqual({ status: 400, code: 'invalid_json' })
  expect(mock.calls.length).toBe(calls)
  expect(await post(bodyWith(MAX_JSON_DEPTH - 1), false)).toEqual({ status: 200, code: null })
})

test('a small chunked body one level past the depth bound is 400 invalid_json, never sent on; one at the bound is served', async () => {
  const calls = mock.calls.length
  expect(await post(bodyWith(MAX_JSON_DEPTH), true)).toEqual({ status: 400, code: 'invalid_json' })
  expect(mock.calls.length).toBe(calls)
  expect(await post(bodyWith(MAX_JSON_DEPTH - 1), true)).toEqual({ status: 200, code: null })
})

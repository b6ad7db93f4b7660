/**
 * Mutation guard: a body declared at most 64 KiB (BUN_READS_WHOLE_BYTES) is read whole by Bun and then
 * claimed in flight at its declared length (src/plugins/body-limit.ts `readWhole`), counted against its caller's
 * share until its answer is over (README, body read budget: "bodies in flight, any size"). The existing tests of
 * that claim send 500 KB and 950 KB bodies, which since the threshold fell to 64 KiB are read in pieces instead: a
 * refactor that claimed nothing for a small body (`claimRead(caller, 0)`) passed every test, and one key could then
 * have any number of 60 KB bodies in flight.
 *
 * Budget 360 KiB: in flight 630 KiB of memory, 472.5 KiB for one caller's. A 60 KB body counts 240 KB (300 KB once
 * admitted as a call answered in JSON): a key's first is served; its second, while the first is with the provider,
 * passes its share (540 KB) and is refused 503; another key's is served beside them (600 KB of 630 KiB).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

const BODY_BYTES = 60_000

let mock: MockProvider
let gw: TestGateway
let secret: string
let other: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { body_read_budget_bytes: 360 * 1024 } })
  secret = (await gw.userWithKey({ id: 'small-bodies-a', max_budget: 100 })).secret
  other = (await gw.userWithKey({ id: 'small-bodies-b', max_budget: 100 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const body = (() => {
  const head = `{"model":"mock:gpt-mock","max_tokens":5,"messages":[{"role":"user","content":"`
  const tail = '"}]}'
  return head + 'x'.repeat(BODY_BYTES - head.length - tail.length) + tail
})()

const post = (key: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': String(BODY_BYTES) },
    body,
  }).then(async (res) => ({ status: res.status, code: res.status === 200 ? null : ((await res.json()) as any).error?.code }))

test("a key's small bodies in flight count against its share: the second, while the first is with the provider, is 503", async () => {
  expect(body.length).toBe(BODY_BYTES)
  expect(BODY_BYTES).toBeLessThanOrEqual(64 * 1024)
  mock.options.latencyMs = 1500
  try {
    const calls = mock.calls.length
    const first = post(secret)
    const deadline = Date.now() + 10_000
    while (mock.calls.length < calls + 1 && Date.now() < deadline) await Bun.sleep(20)
    expect(mock.calls.length).toBe(calls + 1)

    expect(await post(secret)).toEqual({ status: 503, code: 'body_read_busy' })
    expect(await post(other)).toEqual({ status: 200, code: null })
    expect(await first).toEqual({ status: 200, code: null })
    // Once the first's answer is over, its share is back.
    expect(await post(secret)).toEqual({ status: 200, code: null })
  } finally {
    mock.options.latencyMs = 0
  }
}, 30_000)

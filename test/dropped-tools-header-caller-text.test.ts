/**
 * `X-Tollgate-Dropped-Tools` names the caller's own tool types, so its value is percent-encoded and made
 * before the call: a type holding a CR/LF or a character above U+00FF made `Headers.set` throw after the
 * provider had answered — the caller charged for an answer it never got (a JSON call: 500), or its stream's
 * hold left open and its upstream slot taken until the sweeper charged the whole worst case. Whatever the
 * type, the request is served, or refused before the provider is called.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    // One upstream slot: a call whose hold never ends keeps every later call out. A short grace: a stop
    // waits for open holds, and this suite must end even on the code it tests.
    config: { pricing: { 'mockant:claude-mock': { input_per_million: 4, output_per_million: 20 } }, max_upstream_concurrency: 1, shutdown_grace_ms: 200 },
  })
  ;({ secret } = await gw.userWithKey({ id: 'dropped-tools-text', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const ask = (type: string, stream: boolean) =>
  fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mockant:claude-mock', input: 'hi', stream, tools: [{ type }] }),
  })

const user = async () => (await gw.admin('GET', '/v1/users/dropped-tools-text')).body as { spend: number; reserved: number }

for (const type of ['web\nsearch', 'recherche\u20ac'])
  test(`a JSON call with a hosted tool type ${JSON.stringify(type)}: served (or refused before the provider), never a 500 after the provider was paid`, async () => {
    const spendBefore = (await user()).spend
    const res = await ask(type, false)
    const body = await res.text()
    await gw.settled()
    const charged = (await user()).spend - spendBefore
    const outcome = { status: res.status, providerCalls: mock.calls.length, charged: charged > 0 }
    // Correct: 200 with the answer, or a 400 that cost nothing and called nothing.
    const acceptable = outcome.status === 200 || (outcome.status === 400 && outcome.providerCalls === 0 && !outcome.charged)
    expect({ ...outcome, body: body.slice(0, 120), acceptable }).toMatchObject({ acceptable: true })
  })

test('a streamed call with such a tool type: its hold is settled with the request and its upstream slot freed', async () => {
  const res = await ask('web\nsearch', true)
  await res.text()
  // The stream's hold settles when its answer ends; give it a moment.
  let reserved = (await user()).reserved
  for (const until = Date.now() + 2_000; reserved !== 0 && Date.now() < until; await Bun.sleep(50)) reserved = (await user()).reserved
  const next = await ask('web_search', false)
  await next.text()
  expect({ firstIs500: res.status === 500, reservedAfter: reserved, nextStatus: next.status }).toEqual({ firstIs500: false, reservedAfter: 0, nextStatus: 200 })
})

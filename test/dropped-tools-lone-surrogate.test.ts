/**
 * `X-Tollgate-Dropped-Tools` percent-encodes the caller's hosted tool types (`droppedToolsHeader`), made after the
 * hold is taken and before the call, each made well-formed first: `encodeURIComponent` throws (URIError) on a lone
 * surrogate, which a JSON body carries as `"\ud800"`, and the request was answered 500 (an unhandled error).
 * Whatever the type, the request is served, or refused with a 4xx before the provider is called, never a 500.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { pricing: { 'mockant:claude-mock': { input_per_million: 4, output_per_million: 20 } }, shutdown_grace_ms: 200 },
  })
  ;({ secret } = await gw.userWithKey({ id: 'dropped-tools-surrogate', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const user = async () => (await gw.admin('GET', '/v1/users/dropped-tools-surrogate')).body as { spend: number; reserved: number }

for (const stream of [false, true])
  test(`a hosted tool type holding a lone surrogate (stream: ${stream}): served or refused 4xx, never a 500; nothing left held`, async () => {
    // JSON.stringify writes a lone surrogate as the escape `\ud800`, which the gateway's parser reads back as one.
    const body = JSON.stringify({ model: 'mockant:claude-mock', input: 'hi', stream, tools: [{ type: 'web_search\ud800' }] })
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body,
    })
    const text = await res.text()
    await gw.settled()
    const { reserved } = await user()
    expect({ status: res.status, is500: res.status >= 500, reserved, body: text.slice(0, 160) }).toMatchObject({ is500: false, reserved: 0 })
  })

/**
 * `GET /v1/models/{id}` answers a model "named as a request may name it" and 404 for one the key may not call
 * (README). A request's `model` is at most 256 characters (a longer one is a 400), so a longer id names nothing any
 * request can call: it is a 404 even where pricing is not required and unpriced models are answered, rather than a
 * 200 describing a model every call to which is refused, each such name looked up and kept by the price book.
 * Kills: models.ts modelNamed's `if (id.length > MODEL_NAME_MAX_LENGTH) return null` dropped.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let secret: string
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { require_pricing: false } })
  ;({ secret } = await gw.userWithKey({ id: 'long-names' }))
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('a 256-character id is answered; a 257-character one, which no request may name, is a 404', async () => {
  const auth = { authorization: `Bearer ${secret}` }
  const named = (n: number) => `mock:${'m'.repeat(n - 'mock:'.length)}`
  const retrieve = async (id: string) => (await fetch(`${gw.url}/v1/models/${encodeURIComponent(id)}`, { headers: auth })).status
  const call = async (id: string) =>
    (await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ model: id, messages: [{ role: 'user', content: 'hi' }] }),
    })).status
  expect({ retrieve256: await retrieve(named(256)), retrieve257: await retrieve(named(257)), call257: await call(named(257)) }).toEqual({
    retrieve256: 200,
    retrieve257: 404,
    call257: 400,
  })
})

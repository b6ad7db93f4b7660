/**
 * README: `GET /v1/models` lists what the key may call; a model "that has no price while pricing is required" is
 * left out of the list as `GET /v1/models/{id}` answers it 404. An alias whose target has no price is such a model:
 * every request naming it is refused 402 `pricing_required`, so listing it sends clients (an IDE's model picker, an
 * SDK choosing from the list) to a model that never answers. The retrieve side is pinned; nothing pins the list's
 * alias loop.
 * Kills: models.ts `(price || !config.require_pricing) && servable(caller, alias, …)` → `servable(caller, alias, …)`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let secret: string
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { aliases: { 'team-cheap': 'mock:gpt-mock', 'team-unpriced': 'mock:never-priced' } } })
  ;({ secret } = await gw.userWithKey({ id: 'lister' }))
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('an alias to an unpriced model is neither listed nor retrievable while pricing is required; a priced one is both', async () => {
  const list = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
  const ids: string[] = ((await list.json()) as any).data.map((m: any) => m.id)
  const one = async (id: string) => (await fetch(`${gw.url}/v1/models/${id}`, { headers: { authorization: `Bearer ${secret}` } })).status
  expect({ cheap: ids.includes('team-cheap'), unpriced: ids.includes('team-unpriced') }).toEqual({ cheap: true, unpriced: false })
  expect({ cheap: await one('team-cheap'), unpriced: await one('team-unpriced') }).toEqual({ cheap: 200, unpriced: 404 })
  // What a client picking it from the list would get.
  const call = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'team-unpriced', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(call.status).toBe(402)
})

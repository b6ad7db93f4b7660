/**
 * Unpriced-model records are names key holders chose: one asked for with a trailing space stays listed by
 * `prices catalog` (skipped) for as long as it is recorded. `DELETE /v1/pricing/unpriced` (`tollgate prices
 * forget-unpriced MODEL | --all`) lets the operator forget it; asked for again, it is recorded again.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  const { mockant: anthropic } = mockProviders(mock)
  gw = await startTestGateway({ mock, config: { providers: { ant: { ...anthropic, catalog: 'anthropic' } }, pricing: {} } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const recorded = async () => ((await gw.admin('GET', '/v1/pricing/unpriced')).body.data as any[]).map((r) => r.model).sort()

test('an operator forgets one unpriced-model record, then all of them', async () => {
  const { secret } = await gw.userWithKey({ id: 'asker' })
  for (const model of ['ant:claude-haiku-4-5 ', 'ant:claude-haiku-4-5\u200b']) {
    const refused = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(refused.status).toBe(402)
  }
  expect(await recorded()).toEqual(['ant:claude-haiku-4-5 ', 'ant:claude-haiku-4-5\u200b'])

  const one = await runTollgate(gw.url, ['prices', 'forget-unpriced', 'ant:claude-haiku-4-5 ', '--json'])
  expect({ code: one.code, body: JSON.parse(one.stdout) }).toEqual({ code: 0, body: { deleted: 1 } })
  expect(await recorded()).toEqual(['ant:claude-haiku-4-5\u200b'])
  const catalog = JSON.parse((await runTollgate(gw.url, ['prices', 'catalog', '--json'])).stdout)
  expect(catalog.models.map((m: any) => m.model)).toEqual(['ant:claude-haiku-4-5\u200b'])

  const again = await runTollgate(gw.url, ['prices', 'forget-unpriced', 'ant:claude-haiku-4-5 '])
  expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 1, stderr: expect.stringContaining('404') })
  expect((await gw.admin('DELETE', '/v1/pricing/unpriced')).status).toBe(400) // neither a model nor all=true

  const all = await runTollgate(gw.url, ['prices', 'forget-unpriced', '--all', '--json'])
  expect({ code: all.code, body: JSON.parse(all.stdout) }).toEqual({ code: 0, body: { deleted: 1 } })
  expect(await recorded()).toEqual([])
})

/** Prices with a later effective time (SPEC §5), and the source a row cites. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { cache_ttl_ms: 60_000 } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-sched', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })

describe('scheduled prices', () => {
  test('a row with a later effective time applies from then on, even inside the price cache\'s lifetime', async () => {
    const { secret } = await gw.userWithKey({ id: 'sched' })
    expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-sched', input_per_million: 1, output_per_million: 1 })).status).toBe(201)
    const at = new Date(Date.now() + 1_500).toISOString()
    const scheduled = await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-sched', input_per_million: 100, output_per_million: 100, effective_from: at, source: 'test-catalog@1' })
    expect(scheduled.status).toBe(201)
    expect(scheduled.body).toMatchObject({ input_per_million: 100, effective_from: at, source: 'test-catalog@1' })

    // Until then, the current row is the one in force (and the one requests are billed at).
    expect((await gw.admin('GET', '/v1/pricing/mock:gpt-sched')).body).toMatchObject({ input_per_million: 1, source: null })
    expect((await chat(secret)).status).toBe(200)
    const history = (await gw.admin('GET', '/v1/pricing/history?model=mock:gpt-sched')).body.data
    expect(history.map((r: any) => r.input_per_million)).toEqual([100, 1])
    expect(history[1].effective_until).toBe(at)

    await Bun.sleep(Date.parse(at) - Date.now() + 50)
    expect((await gw.admin('GET', '/v1/pricing/mock:gpt-sched')).body).toMatchObject({ input_per_million: 100, source: 'test-catalog@1' })
    expect((await chat(secret)).status).toBe(200)
    await gw.settled()
    const rows = (await gw.admin('GET', '/v1/usage?user_id=sched')).body.data
    expect(rows.map((r: any) => r.price_id)).toEqual([scheduled.body.id, history[1].id])
    expect(rows[0].cost).toBeGreaterThan(rows[1].cost * 50)
  })

  test('an effective time in the past is refused: what past requests cost is history', async () => {
    const res = await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-past', input_per_million: 1, output_per_million: 1, effective_from: '2020-01-01T00:00:00Z' })
    expect(res.status).toBe(400)
    expect(res.body.error.message).toContain('effective_from')
  })

  test('unpricing a model cancels its scheduled changes', async () => {
    await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-gone', input_per_million: 1, output_per_million: 1 })
    await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-gone', input_per_million: 2, output_per_million: 2, effective_from: new Date(Date.now() + 300).toISOString() })
    expect((await gw.admin('DELETE', '/v1/pricing/mock:gpt-gone')).status).toBe(200)
    await Bun.sleep(400)
    expect((await gw.admin('GET', '/v1/pricing/mock:gpt-gone')).status).toBe(404)
  })
})

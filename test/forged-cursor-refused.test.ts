/**
 * A cursor is the position of the last row or group a page of the same query showed. One that names a day
 * the calendar has not (`2024-02-31`), a group the query's own filters leave out (another user's, another
 * model's, a day outside since/until) or an id of no row the query lists (0, past every row, another
 * user's row) cannot be one: it is refused with a 400 naming `cursor`, as a cursor that is not JSON is,
 * rather than answered with an empty page (or one that silently skips rows). Runs on both stores.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
const secrets: Record<string, string> = {}

const chat = (user: string, model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secrets[user]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'page me' }], max_tokens: 10 }),
  })

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:other': { input_per_million: 1, output_per_million: 2 } } },
  })
  for (const user of ['carol', 'dave']) secrets[user] = (await gw.userWithKey({ id: user, max_budget: 10 })).secret
  for (const [user, model] of [['carol', 'mock:gpt-mock'], ['carol', 'mock:gpt-mock'], ['carol', 'mock:other'], ['dave', 'mock:gpt-mock']] as const)
    expect((await chat(user, model)).status).toBe(200)
  await gw.settled()
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const cursorOf = (group: unknown[]) => Buffer.from(JSON.stringify(group)).toString('base64url')
const today = () => new Date().toISOString().slice(0, 10)

function expectCursorRefused(res: { status: number; body: any }) {
  expect(res.status).toBe(400)
  expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' })
  expect(res.body.error.message).toContain('cursor: is not one this API returned')
}

describe('the usage summary', () => {
  test.each(['2024-02-31', '2023-02-29', '2024-04-31'])('a cursor naming %s, a day no calendar has, is a 400', async (day) => {
    expectCursorRefused(await gw.admin('GET', `/v1/usage/summary?cursor=${cursorOf([day, 'carol', 'mock:gpt-mock'])}`))
  })

  test("a cursor from another user's or another model's pages is a 400; on its own query it pages on", async () => {
    const carols = await gw.admin('GET', '/v1/usage/summary?user_id=carol&limit=1')
    expect(carols.body.next_cursor).toEqual(expect.any(String))
    expect((await gw.admin('GET', `/v1/usage/summary?user_id=carol&limit=1&cursor=${carols.body.next_cursor}`)).body.data).toHaveLength(1)
    expectCursorRefused(await gw.admin('GET', `/v1/usage/summary?user_id=dave&cursor=${carols.body.next_cursor}`))

    const gptMock = await gw.admin('GET', '/v1/usage/summary?model=mock:gpt-mock&limit=1')
    expect(gptMock.body.data[0]).toMatchObject({ user_id: 'carol', model: 'mock:gpt-mock' })
    expect((await gw.admin('GET', `/v1/usage/summary?model=mock:gpt-mock&limit=1&cursor=${gptMock.body.next_cursor}`)).body.data).toMatchObject([
      { user_id: 'dave', model: 'mock:gpt-mock' },
    ])
    expectCursorRefused(await gw.admin('GET', `/v1/usage/summary?model=mock:other&cursor=${gptMock.body.next_cursor}`))
  })

  test("a cursor naming a day outside the query's since and until is a 400", async () => {
    const cursor = cursorOf([today(), 'carol', 'mock:gpt-mock'])
    const midnight = Date.parse(`${today()}T00:00:00Z`)
    const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString())
    expectCursorRefused(await gw.admin('GET', `/v1/usage/summary?until=${iso(midnight)}&cursor=${cursor}`))
    expectCursorRefused(await gw.admin('GET', `/v1/usage/summary?since=${iso(midnight + 86_400_000)}&cursor=${cursor}`))
    // A since or until within the cursor's day keeps it.
    expect((await gw.admin('GET', `/v1/usage/summary?since=${iso(midnight + 1)}&until=${iso(Date.now() + 60_000)}&cursor=${cursor}`)).status).toBe(200)
  })
})

describe('the usage list', () => {
  const idsOf = async (path: string) => (await gw.admin('GET', path)).body.data.map((r: { id: number }) => r.id) as number[]

  test('a cursor naming no row (0, or past every row) is a 400', async () => {
    const newest = Math.max(...(await idsOf('/v1/usage')))
    for (const cursor of ['0', String(newest + 1000)]) expectCursorRefused(await gw.admin('GET', `/v1/usage?cursor=${cursor}`))
  })

  test("a cursor naming another user's row, or a row outside the time range, is a 400; the API's own pages on", async () => {
    const [daves] = await idsOf('/v1/usage?user_id=dave')
    expectCursorRefused(await gw.admin('GET', `/v1/usage?user_id=carol&cursor=${daves}`))
    expectCursorRefused(await gw.admin('GET', `/v1/usage?model=mock:other&cursor=${daves}`))
    expectCursorRefused(await gw.admin('GET', `/v1/usage?until=2020-01-01T00:00:00Z&cursor=${daves}`))
    expectCursorRefused(await gw.admin('GET', `/v1/users/carol/usage?cursor=${daves}`))

    const first = await gw.admin('GET', '/v1/usage?user_id=carol&limit=1')
    const second = await gw.admin('GET', `/v1/usage?user_id=carol&limit=1&cursor=${first.body.next_cursor}`)
    expect(second.status).toBe(200)
    expect(second.body.data).toHaveLength(1)
    expect(second.body.data[0].id).toBeLessThan(first.body.data[0].id)
  })

  test("a key's own usage refuses a cursor naming another key's row", async () => {
    const [daves] = await idsOf('/v1/usage?user_id=dave')
    const res = await fetch(`${gw.url}/v1/key/usage?cursor=${daves}`, { headers: { authorization: `Bearer ${secrets.carol}` } })
    expectCursorRefused({ status: res.status, body: await res.json() })
  })
})

import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * Red team (kh): a key's own usage view (`GET /v1/key/usage`, the console's "My key") tells it how many requests
 * every other user of the gateway made, and when. Its rows carry `id`, the usage table's global autoincrement, so
 * the gap between two of the key's rows is the number of requests all other keys and users settled in between.
 * A key polling once a minute with a free-ish request reads another tenant's traffic, minute by minute.
 * README: /v1/key/usage is "its own usage rows and totals"; src/routes/key.ts: "Nothing about other keys or users".
 */
let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })

test("a key's own usage rows do not count the requests other users made between them", async () => {
  const spy = await gw.userWithKey({ id: 'spy', max_budget: 10 })
  const victim = await gw.userWithKey({ id: 'victim', max_budget: 10 })
  expect((await chat(spy.secret)).status).toBe(200)
  await gw.settled()
  // The victim's activity the spy should know nothing of.
  const VICTIM_REQUESTS = 7
  for (let i = 0; i < VICTIM_REQUESTS; i++) expect((await chat(victim.secret)).status).toBe(200)
  await gw.settled()
  expect((await chat(spy.secret)).status).toBe(200)
  await gw.settled()

  const own = await fetch(`${gw.url}/v1/key/usage`, { headers: { authorization: `Bearer ${spy.secret}` } })
  expect(own.status).toBe(200)
  const rows: Array<{ id: number; user_id: string }> = ((await own.json()) as any).data
  expect(rows.map((r) => r.user_id)).toEqual(['spy', 'spy'])
  const [newer, older] = rows
  // What the spy's own two rows say of everyone else: expected nothing (consecutive, or an opaque id), received
  // a gap of VICTIM_REQUESTS + 1, the victim's traffic exactly.
  // An opaque id (not the table's number) tells nothing.
  const numbered = rows.every((r) => /^\d+$/.test(String(r.id)))
  const otherRequestsRevealed = numbered ? Number(newer!.id) - Number(older!.id) - 1 : 0
  expect(otherRequestsRevealed).toBe(0)
})

const ownUsage = (secret: string, query = '') => fetch(`${gw.url}/v1/key/usage${query}`, { headers: { authorization: `Bearer ${secret}` } })

test("a key's rows keep their opaque ids from poll to poll, and its cursor pages by them; a cursor it was not given is a 400", async () => {
  const reader = await gw.userWithKey({ id: 'pager', max_budget: 10 })
  const other = await gw.userWithKey({ id: 'pager-other', max_budget: 10 })
  for (let i = 0; i < 3; i++) expect((await chat(reader.secret)).status).toBe(200)
  expect((await chat(other.secret)).status).toBe(200)
  await gw.settled()

  const all = ((await (await ownUsage(reader.secret)).json()) as any).data as Array<{ id: string }>
  expect(all).toHaveLength(3)
  const again = ((await (await ownUsage(reader.secret)).json()) as any).data as Array<{ id: string }>
  expect(again.map((r) => r.id)).toEqual(all.map((r) => r.id))
  expect(new Set(all.map((r) => r.id)).size).toBe(3)

  const first = (await (await ownUsage(reader.secret, '?limit=2')).json()) as any
  expect(first.data.map((r: { id: string }) => r.id)).toEqual(all.slice(0, 2).map((r) => r.id))
  expect(first.next_cursor).toBe(all[1]!.id)
  const second = (await (await ownUsage(reader.secret, `?limit=2&cursor=${first.next_cursor}`)).json()) as any
  expect(second.data.map((r: { id: string }) => r.id)).toEqual([all[2]!.id])
  expect(second.next_cursor).toBeNull()

  // The table's own number, a cursor with one character changed, and another key's row (sealed alike): refused.
  const otherRow = (((await (await ownUsage(other.secret)).json()) as any).data as Array<{ id: string }>)[0]!.id
  const usageId = gw.query('SELECT max(id) AS id FROM usage')[0].id
  const tampered = first.next_cursor.slice(0, 5) + (first.next_cursor[5] === 'A' ? 'B' : 'A') + first.next_cursor.slice(6)
  expect(tampered).not.toBe(first.next_cursor)
  for (const cursor of [String(usageId), tampered, otherRow]) {
    const refused = await ownUsage(reader.secret, `?limit=2&cursor=${encodeURIComponent(cursor)}`)
    expect({ cursor, status: refused.status }).toEqual({ cursor, status: 400 })
  }
})

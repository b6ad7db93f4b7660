/**
 * Red team (jq): `/v1/usage/summary` pages its (day, user, model) groups by cursor, newest day first; today's groups,
 * the ones still growing, sit on the first pages. A user's first request of the day made while a report is paging
 * created a group sorting before the cursor, which no later page listed while later pages' `totals` counted it (a walk
 * listed rt-b and rt-c, 2 requests, beside totals of 3). A walk is now one snapshot: later pages, and their totals,
 * are read as of the first page (the cursor carries its read point), so the groups listed add up to every page's
 * totals, and a request settled meanwhile is in the next walk.
 */
import { beforeAll, expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))
const secrets: Record<string, string> = {}
const ask = (user: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secrets[user]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  }).then((r) => r.arrayBuffer())

beforeAll(async () => {
  for (const id of ['rt-0', 'rt-a', 'rt-b', 'rt-c']) secrets[id] = (await gw.userWithKey({ id })).secret
  await ask('rt-b')
  await ask('rt-c')
  await gw.settled()
})

type Page = { data: Array<{ day: string; user_id: string; model: string; requests: number; cost: number }>; next_cursor: string | null; totals: { requests: number; cost: number } }

async function walk(between: (pagesRead: number) => Promise<void>, query = '') {
  const pages: Page[] = []
  let cursor: string | null = null
  do {
    const r = await gw.admin('GET', `/v1/usage/summary?limit=1${query}${cursor ? `&cursor=${cursor}` : ''}`)
    expect(r.status).toBe(200)
    pages.push(r.body as Page)
    cursor = pages.at(-1)!.next_cursor
    await between(pages.length)
  } while (cursor)
  return pages
}

const groupsOf = (pages: Page[]) => pages.flatMap((p) => p.data).map((g) => `${g.user_id}:${g.requests}`)
const sumOf = (pages: Page[]) => pages.flatMap((p) => p.data).reduce((n, g) => n + g.requests, 0)

test('a walk of every summary page lists exactly what its totals count, as of its first page', async () => {
  const pages = await walk(async (read) => {
    // rt-a's first request today (a group sorting before the cursor) and another of rt-c's (a group a later page
    // lists) settle while the report is being paged.
    if (read === 1) {
      await ask('rt-a')
      await ask('rt-c')
      await gw.settled()
    }
  })
  expect({ groups: groupsOf(pages), requests: sumOf(pages), totals: pages.map((p) => p.totals.requests) }).toEqual({
    groups: ['rt-b:1', 'rt-c:1'],
    requests: 2,
    totals: [2, 2],
  })
  // The next walk reads the records as they now are.
  const next = await walk(async () => {})
  expect({ groups: groupsOf(next), requests: sumOf(next), totals: next.at(-1)!.totals.requests }).toEqual({
    groups: ['rt-a:1', 'rt-b:1', 'rt-c:2'],
    requests: 4,
    totals: 4,
  })
})

test("the same from raw rows: a range starting after midnight reads today's rows, not its rollup", async () => {
  const since = `&since=${encodeURIComponent(new Date(Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`) + 1).toISOString())}`
  const pages = await walk(async (read) => {
    if (read === 1) {
      await ask('rt-0')
      await ask('rt-b')
      await gw.settled()
    }
  }, since)
  expect({ groups: groupsOf(pages), requests: sumOf(pages), totals: [...new Set(pages.map((p) => p.totals.requests))] }).toEqual({
    groups: ['rt-a:1', 'rt-b:1', 'rt-c:2'],
    requests: 4,
    totals: [4],
  })
})

test('rows dated on earlier days written after the first page (a late settlement, an import) are not in the walk either', async () => {
  const row = (n: number, user: string, daysAgo: number) =>
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
       VALUES (?, ?, ?, NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, 1, 0, 'ok')`,
      `late-${n}`, Date.now() - daysAgo * 86_400_000, user,
    )
  const pages = await walk(async (read) => {
    if (read === 1) [1, 2, 3, 5].forEach((daysAgo, n) => row(n, n === 3 ? 'rt-0' : 'rt-b', daysAgo))
  })
  expect({ groups: groupsOf(pages), totals: [...new Set(pages.map((p) => p.totals.requests))] }).toEqual({
    groups: ['rt-0:1', 'rt-a:1', 'rt-b:2', 'rt-c:2'],
    totals: [6],
  })
  const next = await walk(async () => {})
  expect({ groups: groupsOf(next), requests: sumOf(next), totals: next.at(-1)!.totals.requests }).toEqual({
    groups: ['rt-0:1', 'rt-a:1', 'rt-b:2', 'rt-c:2', 'rt-b:1', 'rt-b:1', 'rt-b:1', 'rt-0:1'],
    requests: 10,
    totals: 10,
  })
})

test('a cursor whose read point is not a whole number of 0 or more is refused; one of an older version (none) pages on', async () => {
  const first = (await gw.admin('GET', '/v1/usage/summary?limit=1')).body as Page
  const [day, user, model] = JSON.parse(Buffer.from(first.next_cursor!, 'base64url').toString()) as string[]
  const cursorOf = (group: unknown[]) => Buffer.from(JSON.stringify(group)).toString('base64url')
  for (const asOf of [-1, 1.5, '7', null, 2 ** 53])
    expect((await gw.admin('GET', `/v1/usage/summary?limit=1&cursor=${cursorOf([day, user, model, asOf])}`)).status).toBe(400)
  const older = await gw.admin('GET', `/v1/usage/summary?limit=1&cursor=${cursorOf([day, user, model])}`)
  expect(older.status).toBe(200)
  expect((older.body as Page).data).toHaveLength(1)
})

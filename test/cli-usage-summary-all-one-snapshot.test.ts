/**
 * Red team (jq): `tollgate usage summary --all` prints every (day, user, model) group, then a `total` row. It keeps the
 * first page's `totals` and appends the rows of the pages it reads later, which on a live gateway were read as the
 * usage then stood: with two requests settled between page 1 and page 2, the report printed rt-b:1, rt-c:2 (3
 * requests) beside a total of 2, and left out rt-a's new group (it sorts before the cursor). The summary's pages now
 * read as of the walk's first page, so the groups, their sum and the total agree, all as of that page.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))
const secrets: Record<string, string> = {}
const ask = (user: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secrets[user]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  }).then((r) => r.arrayBuffer())

/** A pass-through to the gateway that, before the summary's second page, lets two users make a request each. */
let proxy: ReturnType<typeof Bun.serve>
let landed = false
beforeAll(async () => {
  for (const id of ['rt-a', 'rt-b', 'rt-c']) secrets[id] = (await gw.userWithKey({ id })).secret
  await ask('rt-b')
  await ask('rt-c')
  await gw.settled()
  proxy = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url)
      if (url.pathname === '/v1/usage/summary' && url.searchParams.has('cursor') && !landed) {
        landed = true
        await ask('rt-a') // a new group, (today, rt-a, model): before the cursor (today, rt-b, model)
        await ask('rt-c') // a group the next page lists: (today, rt-c, model) grows to 2 requests
        await gw.settled()
      }
      const headers = new Headers(req.headers)
      headers.delete('host')
      return fetch(`${gw.url}${url.pathname}${url.search}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : await req.arrayBuffer() })
    },
  })
})
afterAll(() => proxy?.stop(true))

test('usage summary --all: the printed groups add up to the printed total, both as of the first page', async () => {
  const run = await runTollgate(`http://127.0.0.1:${proxy.port}`, ['usage', 'summary', '--limit', '1', '--all', '--json'])
  expect(run.code).toBe(0)
  expect(landed).toBe(true)
  const report = JSON.parse(run.stdout) as { data: Array<{ user_id: string; requests: number }>; totals: { requests: number } }
  const shown = report.data.reduce((n, g) => n + g.requests, 0)
  expect({ groups: report.data.map((g) => `${g.user_id}:${g.requests}`), rowsSum: shown, total: report.totals.requests }).toEqual({
    groups: ['rt-b:1', 'rt-c:1'],
    rowsSum: 2,
    total: 2,
  })
  // The two requests did land: a report run now counts them.
  const now = (await gw.admin('GET', '/v1/usage/summary?limit=1000')).body as { totals: { requests: number } }
  expect(now.totals.requests).toBe(4)
})

/**
 * README, Admin CLI: "Output is an aligned table …, or the API's JSON with `--json`". A list command's `--json`
 * printed only the page's `data` array, dropping `next_cursor`: a script reading one page could not tell there
 * was more, nor ask for it. It prints the API's answer as it came; with `--all`, that answer holding every page's
 * rows, its `next_cursor` null.
 */
import { beforeAll, expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'
import { tollgateOutput } from './support/cli'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))
beforeAll(async () => {
  const { secret } = await gw.userWithKey({ id: 'json-a', max_budget: 1 })
  for (const id of ['json-b', 'json-c']) await gw.admin('POST', '/v1/users', { id })
  for (let i = 0; i < 3; i++)
    await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
    })
  await gw.settled()
})

const json = async (args: string[]) => JSON.parse(await tollgateOutput(gw.url, [...args, '--json']))

test('one page of a list is the API\'s answer, next_cursor included', async () => {
  for (const [args, path] of [
    [['users', 'list', '--limit', '2'], '/v1/users?limit=2'],
    [['usage', 'list', '--limit', '2'], '/v1/usage?limit=2'],
    [['users', 'usage', 'json-a', '--limit', '2'], '/v1/users/json-a/usage?limit=2'],
    [['usage', 'summary'], '/v1/usage/summary'],
  ] as const) {
    const api = (await gw.admin('GET', path)).body
    expect({ args, printed: await json([...args]) }).toEqual({ args, printed: api })
  }
  expect((await json(['users', 'list', '--limit', '2'])).next_cursor).toEqual(expect.any(String))
})

test('--all: the answer with every page\'s rows, and no next page', async () => {
  const all = await json(['users', 'list', '--limit', '1', '--all'])
  expect(all.data.map((u: { id: string }) => u.id).sort()).toEqual(['json-a', 'json-b', 'json-c'])
  expect(all.next_cursor).toBeNull()
  const summary = await json(['usage', 'summary', '--limit', '1', '--all'])
  expect(summary.next_cursor).toBeNull()
  expect(summary.totals.requests).toBe(3)
})

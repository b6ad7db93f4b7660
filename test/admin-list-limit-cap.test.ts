/**
 * README "Admin lists": `limit` 1–1000 (default 100). Every admin list takes limit=1000 and refuses limit=1001 with a
 * 400 naming `limit`: a cap raised by one (or dropped) lets a single request read more rows than the stated bound,
 * and nothing else pins the upper edge (the existing tests only try 0 and 100000).
 * Kills: pagination.ts `decimalInteger(1, 1000)` → `decimalInteger(1, 1001)`.
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))
beforeAll(async () => {
  await gw.userWithKey({ id: 'cap-user' })
})

const LISTS = ['/v1/users', '/v1/keys', '/v1/pricing', '/v1/pricing/history', '/v1/usage', '/v1/usage/summary', '/v1/audit', '/v1/alerts', '/v1/users/cap-user/usage']

test('every admin list takes limit=1000 and refuses limit=1001 with a 400 naming limit', async () => {
  const seen: string[] = []
  for (const path of LISTS) {
    const top = await gw.admin('GET', `${path}?limit=1000`)
    const over = await gw.admin('GET', `${path}?limit=1001`)
    seen.push(`${path} 1000→${top.status} 1001→${over.status}${over.status === 400 && !String(over.body?.error?.message).includes('limit') ? ' (not naming limit)' : ''}`)
  }
  expect(seen).toEqual(LISTS.map((p) => `${p} 1000→200 1001→400`))
})

test('/docs states the cap: limit has maximum 1000 on the admin lists', async () => {
  const doc: any = await (await fetch(`${gw.url}/docs/json`)).json()
  const maxima = LISTS.filter((p) => p !== '/v1/users/cap-user/usage').map((p) => {
    const param = (doc.paths[p]?.get?.parameters ?? []).find((q: any) => q.name === 'limit')
    return `${p} ${param?.schema?.maximum}`
  })
  expect(maxima).toEqual(LISTS.filter((p) => p !== '/v1/users/cap-user/usage').map((p) => `${p} 1000`))
})

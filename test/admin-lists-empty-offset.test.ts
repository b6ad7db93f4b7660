/**
 * /docs documents `offset` on every admin list (and /v1/key/usage) as an integer ≥ 0, beside `limit` (integer 1–1000)
 * and `cursor` (a non-empty string). README ("Admin lists"): an empty `cursor` or filter (`?user_id=`, "a script's
 * unset variable") is refused rather than read as none. `?offset=` and `?offset=%20` were read as offset 0
 * (`z.coerce.number()` reads '' and ' ' as 0), so a script paging with `?offset=$OFFSET` whose variable is unset got
 * the first page back, again and again, with a 200. Every whole number a query or path takes is decimal digits only.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

test('every list documenting `offset` as an integer refuses an empty or blank offset with a 400 naming it', async () => {
  const { secret } = await gw.userWithKey({ id: 'empty-offset', max_budget: 10 })
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const lists: string[] = []
  for (const [path, ops] of Object.entries<any>(doc.paths)) {
    const offset = (ops.get?.parameters ?? []).find((p: any) => p.in === 'query' && p.name === 'offset')
    if (!offset) continue
    expect({ path, type: offset.schema?.type }).toEqual({ path, type: 'integer' })
    lists.push(path)
  }
  // The admin lists, the usage reports and the key's own usage.
  expect(lists.length).toBeGreaterThanOrEqual(10)

  const wrong: string[] = []
  for (const path of lists) {
    const url = gw.url + path.replace('{id}', 'empty-offset')
    const headers = path.startsWith('/v1/key/') ? { authorization: `Bearer ${secret}` } : gw.master
    // What the document's `limit` (same type, same list) gets: a 400.
    const limit = await fetch(`${url}?limit=`, { headers })
    expect({ path, status: limit.status }).toEqual({ path, status: 400 })
    for (const value of ['', '%20']) {
      const res = await fetch(`${url}?offset=${value}`, { headers })
      const body = (await res.json()) as any
      const named = res.status === 400 && String(body?.error?.message ?? '').includes('offset')
      if (!named) wrong.push(`GET ${path}?offset=${value} -> ${res.status}`)
    }
  }
  expect(wrong).toEqual([])
})

test('a whole number in a query or path is decimal digits: blank, hexadecimal, exponent and signed forms are refused', async () => {
  // Each parameter with a value it takes in digits.
  const cases: Array<[string, string]> = [
    ['/v1/usage/overview?top=', '10'],
    ['/v1/usage/daily?days=', '10'],
    ['/v1/audit/refusals?days=', '10'],
    ['/v1/audit?status=', '200'],
    ['/v1/users?limit=', '10'],
    ['/v1/users?offset=', '10'],
  ]
  const refused = ['', '%20', '0x10', '1e1', '+5', '5.0']
  const answered: string[] = []
  const expected: string[] = []
  for (const [base, digits] of cases) {
    for (const value of [...refused, digits]) answered.push(`${base}${value} → ${(await gw.admin('GET', base + value)).status}`)
    expected.push(...refused.map((value) => `${base}${value} → 400`), `${base}${digits} → 200`)
  }
  for (const id of ['0x1', '1e0', '%20']) {
    answered.push(`/v1/pricing/history/${id} → ${(await gw.admin('GET', `/v1/pricing/history/${id}`)).status}`)
    expected.push(`/v1/pricing/history/${id} → 400`)
  }
  expect(answered).toEqual(expected)
})

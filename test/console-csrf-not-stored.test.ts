/**
 * Mutation guard: the database keeps an HMAC of the session token, "never
 * the token: a stolen database holds no usable session" (README "Admin console"), and the CSRF token is derived from
 * the session token by an HMAC of its own (src/console/sessions.ts: `csrf\0` vs `session\0`). Were the two derived
 * alike, the stored id would be each session's CSRF token in hex: a copy of the database (a backup) would hand out
 * the CSRF half of every live session. No test compared them.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(async () => {
  await gw.stop()
})

test('neither the session token nor its CSRF token can be read from the console_sessions rows', async () => {
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: MASTER_KEY }),
  })
  expect(res.status).toBe(200)
  const csrf = ((await res.json()) as any).csrf_token as string
  const token = res.headers.get('set-cookie')!.split(';', 1)[0]!.split('=')[1]!
  const spellings = (value: string) => {
    const bytes = Buffer.from(value, 'base64url')
    return [value, bytes.toString('hex'), bytes.toString('base64')]
  }
  const stored = JSON.stringify(gw.query('SELECT * FROM console_sessions')).toLowerCase()
  const found = [...spellings(token), ...spellings(csrf)].filter((s) => stored.includes(s.toLowerCase()))
  expect(found).toEqual([])
})

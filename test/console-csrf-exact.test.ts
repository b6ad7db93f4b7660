/**
 * Mutation guard: README "Where the cookie counts" — every state-changing
 * call made with a console cookie needs this site's Origin and the session's X-CSRF-Token, otherwise 403 `csrf_failed`.
 * The existing tests sent only an empty or a wholly wrong token, and only on POST: a check that took any prefix of
 * the token (or its first character), or one that let PATCH and DELETE through as "reads", passed them all.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway({ config: { console_sign_ins_per_min: 1000 } })
})
afterAll(async () => {
  await gw.stop()
})

async function signIn(key: string) {
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key }),
  })
  expect(res.status).toBe(200)
  const body: any = await res.json()
  return { cookie: res.headers.get('set-cookie')!.split(';', 1)[0]!, csrf: body.csrf_token as string }
}

/** A change as a page would send it: our Origin, the cookie, and whatever CSRF header it has (or none). */
async function change(cookie: string, method: string, path: string, csrf: string | null, body?: unknown) {
  const res = await fetch(gw.url + path, {
    method,
    headers: {
      cookie,
      origin: gw.url,
      ...(csrf === null ? {} : { 'x-csrf-token': csrf }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, code: text ? (JSON.parse(text) as any).error?.code : undefined }
}

test('a CSRF token that is only part of the session\'s, or the session\'s with more after it, is refused 403 csrf_failed', async () => {
  const s = await signIn(MASTER_KEY)
  expect(s.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/)
  const wrong = [s.csrf.slice(0, 1), s.csrf.slice(0, 8), s.csrf.slice(0, 42), `${s.csrf}x`, s.csrf.toLowerCase() === s.csrf ? `${s.csrf.slice(0, 42)}!` : s.csrf.toLowerCase()]
  const got = []
  for (const [i, token] of wrong.entries()) got.push(await change(s.cookie, 'POST', '/v1/users', token, { id: `csrf-part-${i}` }))
  expect(got).toEqual(wrong.map(() => ({ status: 403, code: 'csrf_failed' })))
  for (let i = 0; i < wrong.length; i++) expect((await gw.admin('GET', `/v1/users/csrf-part-${i}`)).status).toBe(404)
  // The session's own token still works.
  expect((await change(s.cookie, 'POST', '/v1/users', s.csrf, { id: 'csrf-whole' })).status).toBe(201)
})

test('PATCH and DELETE made with a console cookie need the CSRF token as POST does', async () => {
  const s = await signIn(MASTER_KEY)
  const { keyId } = await gw.userWithKey({ id: 'csrf-methods', max_budget: 5 })
  await gw.userWithKey({ id: 'csrf-methods-del' })
  const got = {
    patchUser: await change(s.cookie, 'PATCH', '/v1/users/csrf-methods', null, { max_budget: 1000 }),
    patchKey: await change(s.cookie, 'PATCH', `/v1/keys/${keyId}`, null, { name: 'renamed' }),
    deleteKey: await change(s.cookie, 'DELETE', `/v1/keys/${keyId}`, null),
    deleteUser: await change(s.cookie, 'DELETE', '/v1/users/csrf-methods-del', null),
    signOut: await change(s.cookie, 'DELETE', '/v1/session', null),
  }
  const refused = { status: 403, code: 'csrf_failed' }
  expect(got).toEqual({ patchUser: refused, patchKey: refused, deleteKey: refused, deleteUser: refused, signOut: refused })
  // Nothing changed: the budget, the key and the user are as they were, and the session is still signed in.
  expect((await gw.admin('GET', '/v1/users/csrf-methods')).body.max_budget).toBe(5)
  expect((await gw.admin('GET', '/v1/users/csrf-methods-del')).status).toBe(200)
  const key = await gw.admin('GET', `/v1/keys/${keyId}`)
  expect(key.body.revoked_at ?? null).toBeNull()
  expect((await fetch(`${gw.url}/v1/users`, { headers: { cookie: s.cookie } })).status).toBe(200)
})

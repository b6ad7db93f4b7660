/**
 * /docs declares the console session cookie (`session`) and its CSRF header (`csrf`) as security schemes (README
 * "Admin console": every call the console makes is a route in /docs). The gateway takes the session on the admin API
 * and /v1/key: signed in with the master key, GET /v1/users and POST /v1/users (the latter with the CSRF header and
 * this site's Origin); signed in with a virtual key, GET /v1/key. Their operations inherited the document's `security`
 * (bearer or x-api-key) and so said they took a key header and nothing else: a client generated from /docs/json (or
 * Swagger UI's Authorize) could not call them with the console's credential. An operation's `security` is the list of
 * alternatives it accepts; the session must be one of them, with the CSRF header on a change.
 */
import { expect, test } from 'bun:test'
import { CSRF_HEADER } from '../src/console/session-auth'
import { isAdminPath } from '../src/plugins/auth'
import { withMockGateway } from './support/mock-gateway'
import { MASTER_KEY, type TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

async function signIn(key: string) {
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { origin: gw.url, 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  })
  expect(res.status).toBe(200)
  const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!
  const { csrf_token } = (await res.json()) as any
  return { cookie, csrf: String(csrf_token) }
}

/** The schemes each alternative of an operation's effective security names. */
const alternatives = (doc: any, path: string, method: string): string[][] =>
  ((doc.paths[path][method].security ?? doc.security ?? []) as Array<Record<string, unknown>>).map((r) => Object.keys(r).sort())

test('the admin API and /v1/key document the console session they take', async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  expect(doc.components.securitySchemes.session).toBeDefined()

  const admin = await signIn(MASTER_KEY)
  // What the gateway really does: the session alone reads the admin API, and with CSRF and Origin changes it.
  const list = await fetch(`${gw.url}/v1/users`, { headers: { cookie: admin.cookie } })
  expect(list.status).toBe(200)
  const create = await fetch(`${gw.url}/v1/users`, {
    method: 'POST',
    headers: { cookie: admin.cookie, [CSRF_HEADER]: admin.csrf, origin: gw.url, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'docs-session' }),
  })
  expect(create.status).toBe(201)
  const { secret } = await gw.userWithKey({ id: 'docs-session-key', max_budget: 5 })
  const own = await signIn(secret)
  const key = await fetch(`${gw.url}/v1/key`, { headers: { cookie: own.cookie } })
  expect(key.status).toBe(200)

  const undocumented: string[] = []
  const takesSession = (path: string, method: string, scheme: string[]) => {
    if (!alternatives(doc, path, method).some((alt) => scheme.every((s) => alt.includes(s)))) undocumented.push(`${method.toUpperCase()} ${path}`)
  }
  takesSession('/v1/users', 'get', ['session'])
  takesSession('/v1/users', 'post', ['session', 'csrf'])
  takesSession('/v1/key', 'get', ['session'])
  expect(undocumented).toEqual([])
})

test('every operation of the admin API and /v1/key lists the key headers and the session (with CSRF on a change)', async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const wrong: string[] = []
  let operations = 0
  for (const [path, ops] of Object.entries<any>(doc.paths)) {
    if (!isAdminPath(path) && !/^\/v1\/key(\/|$)/.test(path)) continue
    for (const method of Object.keys(ops)) {
      operations++
      const session = method === 'get' || method === 'head' ? ['session'] : ['csrf', 'session']
      const found = alternatives(doc, path, method)
      if (JSON.stringify(found) !== JSON.stringify([['bearer'], ['apiKey'], session])) wrong.push(`${method.toUpperCase()} ${path}: ${JSON.stringify(found)}`)
    }
  }
  expect(operations).toBeGreaterThan(30)
  expect(wrong).toEqual([])
})

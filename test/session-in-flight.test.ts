/**
 * A console session is checked when a request's headers arrive and again once its body is in, as a header key
 * is (key-in-flight.test.ts): a body may take as long as its client likes, and meanwhile the session may be
 * signed out ("the session ends at once") or pass its maximum age. A state-changing admin call whose body was
 * still arriving is then refused 401 and changes nothing (SPEC §12: expiry, logout).
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

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: MASTER_KEY }),
  })
  expect(res.status).toBe(200)
  const body: any = await res.json()
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';', 1)[0]!, csrf: body.csrf_token }
}

/** An admin write made with the session, its body finished only after `meanwhile` has run. */
async function slowWrite(s: { cookie: string; csrf: string }, method: string, path: string, body: unknown, meanwhile: () => Promise<void>) {
  const bytes = new TextEncoder().encode(JSON.stringify(body))
  const half = Math.floor(bytes.length / 2)
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const pending = fetch(gw.url + path, {
    method,
    headers: { cookie: s.cookie, origin: gw.url, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
    body: new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(bytes.slice(0, half))
        await gate
        c.enqueue(bytes.slice(half))
        c.close()
      },
    }),
    duplex: 'half',
  } as RequestInit)
  // The headers and half the body are in: the gateway has authenticated the request and waits for the rest.
  await Bun.sleep(150)
  await meanwhile()
  release()
  const res = await pending
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

test('signed out while a POST /v1/keys body is arriving: refused 401, no key is made for anyone', async () => {
  await gw.userWithKey({ id: 'victim-team' })
  const s = await signIn()
  const r = await slowWrite(s, 'POST', '/v1/keys', { user_id: 'victim-team', name: 'planted' }, async () => {
    const out = await fetch(`${gw.url}/v1/session`, { method: 'DELETE', headers: { cookie: s.cookie, origin: gw.url, 'x-csrf-token': s.csrf } })
    expect(out.status).toBe(200)
    // The session is gone for every new request.
    expect((await fetch(`${gw.url}/v1/users`, { headers: { cookie: s.cookie } })).status).toBe(401)
  })
  const keys = await gw.admin('GET', '/v1/keys?user_id=victim-team')
  expect({
    status: r.status,
    secretHandedOut: typeof r.body?.key === 'string',
    plantedKeys: keys.body.data.filter((k: any) => k.name === 'planted').length,
  }).toEqual({ status: 401, secretHandedOut: false, plantedKeys: 0 })
})

test('signed out while a PATCH /v1/users body is arriving: refused 401, the budget is left as it was', async () => {
  await gw.admin('POST', '/v1/users', { id: 'capped-team', max_budget: 5 })
  const s = await signIn()
  const r = await slowWrite(s, 'PATCH', '/v1/users/capped-team', { max_budget: null }, async () => {
    const out = await fetch(`${gw.url}/v1/session`, { method: 'DELETE', headers: { cookie: s.cookie, origin: gw.url, 'x-csrf-token': s.csrf } })
    expect(out.status).toBe(200)
  })
  const user = await gw.admin('GET', '/v1/users/capped-team')
  expect({ status: r.status, maxBudget: user.body.max_budget }).toEqual({ status: 401, maxBudget: 5 })
})

test('past its maximum age while a POST /v1/keys body is arriving: refused 401, no key is made', async () => {
  await gw.userWithKey({ id: 'aged-team' })
  const s = await signIn()
  const r = await slowWrite(s, 'POST', '/v1/keys', { user_id: 'aged-team', name: 'late' }, async () => {
    gw.exec('UPDATE console_sessions SET expires_at = ?', Date.now() - 1)
  })
  const keys = await gw.admin('GET', '/v1/keys?user_id=aged-team')
  expect({ status: r.status, lateKeys: keys.body.data.filter((k: any) => k.name === 'late').length }).toEqual({ status: 401, lateKeys: 0 })
})

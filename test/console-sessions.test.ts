/**
 * Console sign-in (SPEC §12): a key exchanged for a server-side session cookie; the cookie is a
 * credential on the admin API and the self-service routes only; changes need Origin and the CSRF token.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  // Every test signs in from 127.0.0.1; the limit itself has a gateway of its own below.
  gw = await startTestGateway({ mock, config: { console_sign_ins_per_min: 1000 } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

interface Session {
  cookie: string
  csrf: string
  setCookie: string
  body: any
}

async function signIn(key: string, headers: Record<string, string> = { origin: gw.url }): Promise<Session & { status: number }> {
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ key }),
  })
  const body: any = await res.json()
  const setCookie = res.headers.get('set-cookie') ?? ''
  return { status: res.status, body, setCookie, cookie: setCookie.split(';', 1)[0]!, csrf: body.csrf_token }
}

/** A request as the console makes it: the cookie, and for changes our Origin and the CSRF token. */
async function withSession(s: Session, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(gw.url + path, {
    method,
    headers: {
      cookie: s.cookie,
      ...(method === 'GET' ? {} : { origin: gw.url, 'x-csrf-token': s.csrf }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers }
}

describe('admin session', () => {
  test('the master key is exchanged for an HttpOnly, SameSite=Strict cookie (not Secure over plain HTTP), never stored as such', async () => {
    const s = await signIn(MASTER_KEY)
    expect(s.status).toBe(200)
    expect(s.body.kind).toBe('admin')
    expect(s.setCookie).toMatch(/^tollgate_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/)
    expect(s.setCookie).not.toContain(MASTER_KEY)
    const token = s.cookie.split('=')[1]!
    const rows = gw.query('SELECT * FROM console_sessions')
    expect(rows.length).toBeGreaterThan(0)
    expect(JSON.stringify(rows)).not.toContain(token)
    expect(JSON.stringify(rows)).not.toContain(MASTER_KEY)
  })

  test('the longest master key the configuration takes (512 characters) signs in to the console', async () => {
    const longest = Buffer.from(crypto.getRandomValues(new Uint8Array(384))).toString('base64')
    expect(longest.length).toBe(512)
    const long = await startTestGateway({ mock, config: { master_key: longest } })
    try {
      const res = await fetch(`${long.url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: long.url },
        body: JSON.stringify({ key: longest }),
      })
      expect({ status: res.status, kind: ((await res.json()) as any).kind }).toEqual({ status: 200, kind: 'admin' })
    } finally {
      await long.stop()
    }
  })

  test('over HTTPS (a trusted proxy says so) the cookie is Secure and named __Host-, and one of the old name is expired', async () => {
    const proxied = await startTestGateway({ mock, config: { trust_proxy: true } })
    try {
      const origin = `https://${new URL(proxied.url).host}`
      const https = { origin, 'x-forwarded-proto': 'https' }
      const res = await fetch(`${proxied.url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...https },
        body: JSON.stringify({ key: MASTER_KEY }),
      })
      expect(res.status).toBe(200)
      const [session, old] = res.headers.getSetCookie()
      // __Host-: only this host over HTTPS can set it (Path=/, no Domain), so no other page can plant one.
      expect(session).toMatch(/^__Host-tollgate_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/)
      expect(old).toBe('tollgate_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure')
      const cookie = session!.split(';', 1)[0]!
      expect((await fetch(`${proxied.url}/v1/users`, { headers: { cookie, ...https } })).status).toBe(200)
      const out = await fetch(`${proxied.url}/v1/session`, { method: 'DELETE', headers: { cookie, ...https, 'x-csrf-token': ((await res.json()) as any).csrf_token } })
      expect(out.status).toBe(200)
      expect(out.headers.getSetCookie()).toEqual([
        '__Host-tollgate_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
        'tollgate_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure',
      ])
      expect((await fetch(`${proxied.url}/v1/users`, { headers: { cookie, ...https } })).status).toBe(401)
      // A session signed in before the cookie took the __Host- name still reads, until it ends.
      const before = await fetch(`${proxied.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: proxied.url }, body: JSON.stringify({ key: MASTER_KEY }) })
      const oldCookie = before.headers.get('set-cookie')!.split(';', 1)[0]!
      expect(oldCookie).toStartWith('tollgate_session=')
      expect((await fetch(`${proxied.url}/v1/users`, { headers: { cookie: oldCookie, ...https } })).status).toBe(200)
    } finally {
      await proxied.stop()
    }
  })

  test('the cookie reads and changes the admin API, like the master key', async () => {
    const s = await signIn(MASTER_KEY)
    expect((await withSession(s, 'GET', '/v1/users')).status).toBe(200)
    // Every admin route, the alerts as well (the console's Overview lists them).
    expect((await withSession(s, 'GET', '/v1/alerts')).status).toBe(200)
    const created = await withSession(s, 'POST', '/v1/users', { id: 'sess-made', max_budget: 2 })
    expect(created.status).toBe(201)
    expect((await gw.admin('GET', '/v1/users/sess-made')).body.max_budget).toBe(2)
    const session = await withSession(s, 'GET', '/v1/session')
    expect(session.body).toMatchObject({ kind: 'admin', csrf_token: s.csrf })
  })

  test('a change without the CSRF token, with a wrong one, or from another Origin is refused', async () => {
    const s = await signIn(MASTER_KEY)
    const body = { id: 'sess-csrf' }
    expect((await withSession(s, 'POST', '/v1/users', body, { 'x-csrf-token': '' })).status).toBe(403)
    expect((await withSession(s, 'POST', '/v1/users', body, { 'x-csrf-token': 'x'.repeat(43) })).status).toBe(403)
    const cross = await withSession(s, 'POST', '/v1/users', body, { origin: 'http://evil.example' })
    expect(cross.status).toBe(403)
    expect(cross.body.error.code).toBe('csrf_failed')
    const noOrigin = await fetch(`${gw.url}/v1/users`, {
      method: 'POST',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(noOrigin.status).toBe(403)
    expect((await gw.admin('GET', '/v1/users/sess-csrf')).status).toBe(404)
  })

  test('the cookie is never a credential on inference routes', async () => {
    const s = await signIn(MASTER_KEY)
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { cookie: s.cookie, origin: gw.url, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', user: 'sess-made', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(401)
    const models = await fetch(`${gw.url}/v1/models`, { headers: { cookie: s.cookie } })
    expect(models.status).toBe(401)
    expect(mock.calls.length).toBe(0)
  })

  test('sign-in needs our Origin, and a wrong key is 401', async () => {
    expect((await signIn(MASTER_KEY, {})).status).toBe(403)
    expect((await signIn(MASTER_KEY, { origin: 'http://evil.example' })).status).toBe(403)
    const wrong = await signIn('not-the-master-key-0123456789abcdef-xx')
    expect(wrong.status).toBe(401)
    expect(wrong.setCookie).toBe('')
  })

  test('sign out ends the session at once and clears the cookie', async () => {
    const s = await signIn(MASTER_KEY)
    const out = await withSession(s, 'DELETE', '/v1/session')
    expect(out.status).toBe(200)
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0')
    expect((await withSession(s, 'GET', '/v1/users')).status).toBe(401)
    const after = await withSession(s, 'GET', '/v1/session')
    expect(after.status).toBe(200)
    expect(after.body).toEqual({ kind: null })
  })

  test('signing in again from the same browser ends its previous session', async () => {
    const first = await signIn(MASTER_KEY)
    const second = await signIn(MASTER_KEY, { origin: gw.url, cookie: first.cookie })
    expect(second.status).toBe(200)
    expect((await withSession(first, 'GET', '/v1/users')).status).toBe(401)
    expect((await withSession(second, 'GET', '/v1/users')).status).toBe(200)
  })

  test('a new master key ends every session signed in with the old one', async () => {
    const s = await signIn(MASTER_KEY)
    const db = gw.dbPath
    const other = await startTestGateway({ config: { db, master_key: 'another-master-key-0123456789abcdef-012' } })
    try {
      const res = await fetch(`${other.url}/v1/users`, { headers: { cookie: s.cookie } })
      expect(res.status).toBe(401)
    } finally {
      await other.stop()
    }
    // The same database with the old key again: still valid there.
    expect((await withSession(s, 'GET', '/v1/users')).status).toBe(200)
  })

  test('sign-in attempts are rate limited per client address', async () => {
    const limited = await startTestGateway({ mock })
    try {
      const attempt = () =>
        fetch(`${limited.url}/v1/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: limited.url },
          body: JSON.stringify({ key: 'guess-0123456789abcdef-0123456789abcdef' }),
        })
      const statuses = []
      for (let i = 0; i < 12; i++) statuses.push((await attempt()).status)
      expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true)
      expect(statuses.slice(10)).toEqual([429, 429])
    } finally {
      await limited.stop()
    }
  })

  test('an IPv6 client is limited by its /64: a new address of the same /64 per attempt does not escape', async () => {
    const limited = await startTestGateway({ mock, config: { trust_proxy: true } })
    try {
      const attempt = (from: string) =>
        fetch(`${limited.url}/v1/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: limited.url, 'x-forwarded-for': from },
          body: JSON.stringify({ key: 'guess-0123456789abcdef-0123456789abcdef' }),
        })
      const statuses = []
      for (let i = 1; i <= 12; i++) statuses.push((await attempt(`2001:db8:5:6::${i.toString(16)}`)).status)
      expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true)
      expect(statuses.slice(10)).toEqual([429, 429])
      // Another /64 is another client.
      expect((await attempt('2001:db8:5:7::1')).status).toBe(401)
    } finally {
      await limited.stop()
    }
  })
})

/**
 * Another page the browser visits (another port of this host, a sibling subdomain's Domain cookie, anyone on plain
 * HTTP) can set `tollgate_session` with a longer Path, which the browser sends before the console's own.
 */
describe('session cookies planted by another page', () => {
  const signedInAs = (cookie: string) => withSession({ cookie, csrf: '', setCookie: '', body: null }, 'GET', '/v1/session')

  test('a planted cookie sent first does not hide the session after it; the CSRF token is that session\'s', async () => {
    const s = await signIn(MASTER_KEY)
    const cookie = `tollgate_session=planted-by-another-page; tollgate_session=${'x'.repeat(43)}; ${s.cookie}`
    const planted = { ...s, cookie }
    expect((await withSession(planted, 'GET', '/v1/users')).status).toBe(200)
    expect((await signedInAs(cookie)).body).toMatchObject({ kind: 'admin', csrf_token: s.csrf })
    expect((await withSession(planted, 'POST', '/v1/users', { id: 'planted-first' })).status).toBe(201)
  })

  test("an admin session counts before a live key session, in either order, and a change needs the admin session's CSRF token", async () => {
    const { secret } = await gw.userWithKey({ id: 'planter-a' })
    const key = await signIn(secret)
    const admin = await signIn(MASTER_KEY)
    for (const cookie of [`${key.cookie}; ${admin.cookie}`, `${admin.cookie}; ${key.cookie}`]) {
      expect((await signedInAs(cookie)).body).toMatchObject({ kind: 'admin', csrf_token: admin.csrf })
      expect((await withSession({ ...admin, cookie }, 'GET', '/v1/users')).status).toBe(200)
      expect((await withSession({ ...key, cookie }, 'POST', '/v1/users', { id: 'planter-csrf' })).status).toBe(403)
    }
    // A planted cookie that is no session leaves the key session it came with standing.
    expect((await signedInAs(`tollgate_session=${'y'.repeat(43)}; ${key.cookie}`)).body).toMatchObject({ kind: 'key' })
  })

  test('planted cookies sent before the console’s own, however many, do not lock the admin out', async () => {
    const s = await signIn(MASTER_KEY)
    // Eight a page set under eight longer Paths (/v1, /v1/, /v1/u, …), each sent before the console's Path=/ one:
    // not one of them is even a token.
    const unshaped = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((v) => `tollgate_session=${v}`)
    // Fifty of a token's shape, none a session.
    const shaped = Array.from({ length: 50 }, (_, i) => `tollgate_session=${String(i).padStart(43, 'x')}`)
    for (const planted of [unshaped, shaped]) {
      const cookie = `${planted.join('; ')}; ${s.cookie}`
      const users = await withSession({ ...s, cookie }, 'GET', '/v1/users')
      expect({ users: users.status, kind: (await signedInAs(cookie)).body.kind }).toEqual({ users: 200, kind: 'admin' })
    }
  })

  test('signing out ends every session the browser carries, past the eighth', async () => {
    const { secret } = await gw.userWithKey({ id: 'planter-c' })
    const planted: Session[] = []
    for (let i = 0; i < 9; i++) planted.push(await signIn(secret))
    const admin = await signIn(MASTER_KEY)
    const cookie = [...planted.map((p) => p.cookie), admin.cookie].join('; ')
    expect((await withSession({ ...admin, cookie }, 'DELETE', '/v1/session')).status).toBe(200)
    const left = await Promise.all([...planted, admin].map(async (p) => (await signedInAs(p.cookie)).body.kind))
    expect(left).toEqual(Array(10).fill(null))
  })

  test('signing in or out ends every session the browser carries, a planted one too', async () => {
    const { secret } = await gw.userWithKey({ id: 'planter-b' })
    const planted = await signIn(secret)
    const admin = await signIn(MASTER_KEY, { origin: gw.url, cookie: planted.cookie })
    expect((await signedInAs(planted.cookie)).body).toEqual({ kind: null })
    const again = await signIn(secret)
    const cookie = `${again.cookie}; ${admin.cookie}`
    const out = await withSession({ ...admin, cookie }, 'DELETE', '/v1/session')
    expect(out.status).toBe(200)
    expect((await signedInAs(again.cookie)).body).toEqual({ kind: null })
    expect((await signedInAs(admin.cookie)).body).toEqual({ kind: null })
  })
})

describe('session expiry', () => {
  test('idle and absolute expiry end a session', async () => {
    const short = await startTestGateway({ mock, config: { console_session_idle_min: 1, console_session_max_hours: 1 } })
    try {
      const res = await fetch(`${short.url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: short.url },
        body: JSON.stringify({ key: MASTER_KEY }),
      })
      const cookie = res.headers.get('set-cookie')!.split(';', 1)[0]!
      const ok = () => fetch(`${short.url}/v1/users`, { headers: { cookie } }).then((r) => r.status)
      expect(await ok()).toBe(200)
      // Idle a minute past its last written use, and the tenth of a minute its last use may be later than that.
      short.exec('UPDATE console_sessions SET last_seen_at = last_seen_at - 61000')
      expect(await ok()).toBe(200)
      short.exec('UPDATE console_sessions SET last_seen_at = last_seen_at - 67000')
      expect(await ok()).toBe(401)
      const again = await fetch(`${short.url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: short.url },
        body: JSON.stringify({ key: MASTER_KEY }),
      })
      const cookie2 = again.headers.get('set-cookie')!.split(';', 1)[0]!
      short.exec('UPDATE console_sessions SET expires_at = ?', Date.now() - 1)
      expect(await fetch(`${short.url}/v1/users`, { headers: { cookie: cookie2 } }).then((r) => r.status)).toBe(401)
    } finally {
      await short.stop()
    }
  })
})

describe('key session (self-service, read-only)', () => {
  test('sees its own key, budget and usage, and nothing else', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'self-a', max_budget: 5 }, { name: 'laptop', rpm_limit: 100 })
    const other = await gw.userWithKey({ id: 'self-b' })
    for (const s of [secret, other.secret])
      await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
      })
    const s = await signIn(secret)
    expect(s.status).toBe(200)
    expect(s.body).toMatchObject({ kind: 'key', key_id: keyId })
    const me = await withSession(s, 'GET', '/v1/key')
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ id: keyId, name: 'laptop', rpm_limit: 100, user: { id: 'self-a', max_budget: 5 } })
    expect(me.body.user.spend).toBeGreaterThan(0)
    const usage = await withSession(s, 'GET', '/v1/key/usage')
    expect(usage.status).toBe(200)
    expect(usage.body.data.length).toBe(1)
    expect(usage.body.data.every((r: any) => r.key_id === keyId)).toBe(true)
    for (const path of ['/v1/users', '/v1/keys', '/v1/usage', '/v1/audit', '/v1/pricing', '/v1/users/self-b', '/v1/usage/overview', '/v1/alerts'])
      expect((await withSession(s, 'GET', path)).status).toBe(403)
    // Read-only: not even its own key can be changed through the session.
    expect((await withSession(s, 'POST', `/v1/keys/${keyId}/rotate`)).status).toBe(403)
    expect((await withSession(s, 'GET', '/v1/key/usage?key_id=' + other.keyId)).status).toBe(400)
  })

  test('ends when its key is revoked, rotated or expires, or its user is blocked or deleted', async () => {
    const check = async (id: string, end: (keyId: string) => Promise<unknown>) => {
      const { secret, keyId } = await gw.userWithKey({ id })
      const s = await signIn(secret)
      expect((await withSession(s, 'GET', '/v1/key')).status).toBe(200)
      await end(keyId)
      expect((await withSession(s, 'GET', '/v1/key')).status).toBe(401)
    }
    await check('end-revoke', (k) => gw.admin('DELETE', `/v1/keys/${k}`))
    await check('end-rotate', (k) => gw.admin('POST', `/v1/keys/${k}/rotate`))
    await check('end-expire', async (k) => gw.exec('UPDATE api_keys SET expires_at = ? WHERE id = ?', Date.now() - 1, k))
    await check('end-block', () => gw.admin('PATCH', '/v1/users/end-block', { blocked: true }))
    await check('end-delete', () => gw.admin('DELETE', '/v1/users/end-delete'))
  })

  test('a blocked user\'s key cannot sign in', async () => {
    const { secret } = await gw.userWithKey({ id: 'blocked-in', blocked: true })
    expect((await signIn(secret)).status).toBe(401)
  })
})

describe('GET /v1/key with the key as bearer', () => {
  test("shows the key's limits and its user's budget; the master key has no key of its own", async () => {
    const { secret, keyId } = await gw.userWithKey(
      { id: 'bearer-self', max_budget: 3, budget_period: 'monthly' },
      { name: 'agent', allowed_models: ['mock:gpt-mock'], max_budget: 1, user_field: 'tag' },
    )
    const res = await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toMatchObject({
      id: keyId, name: 'agent', allowed_models: ['mock:gpt-mock'], max_budget: 1, spend: 0, reserved: 0, remaining: 1,
      user_field: 'tag', clamp_output: null,
      user: { id: 'bearer-self', max_budget: 3, budget_period: 'monthly', spend: 0, reserved: 0, remaining: 3 },
    })
    expect(JSON.stringify(body)).not.toContain(secret)
    const anthropicStyle = await fetch(`${gw.url}/v1/key`, { headers: { 'x-api-key': secret } })
    expect(anthropicStyle.status).toBe(200)
    const master = await fetch(`${gw.url}/v1/key`, { headers: gw.master })
    expect(master.status).toBe(400)
    expect((await fetch(`${gw.url}/v1/key`)).status).toBe(401)
  })
})

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  for (const id of ['keys-owner', 'keys-pages', 'keys-other']) {
    const r = await gw.admin('POST', '/v1/users', { id })
    if (r.status !== 201) throw new Error(`user ${id}: ${r.status} ${JSON.stringify(r.body)}`)
  }
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')

/** A chat completion for mock:gpt-mock with the given headers (and body overrides). */
async function chat(headers: Record<string, string>, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], ...extra }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null, text }
}
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })

/** Any request with arbitrary headers; returns status, parsed body and raw text. */
async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(gw.url + path, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let parsed: any = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = text
  }
  return { status: res.status, body: parsed, text }
}

async function createKey(fields: Record<string, unknown> = {}) {
  const r = await gw.admin('POST', '/v1/keys', { user_id: 'keys-owner', ...fields })
  expect(r.status).toBe(201)
  return r.body as { id: string; key: string; key_prefix: string; [k: string]: unknown }
}

function expectOpenAIError(body: any, code: string) {
  // None of these is a validation error: OpenAI's `param` is null.
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), code, param: null } })
  expect(body.error.message.length).toBeGreaterThan(0)
}

describe('create', () => {
  test('returns the secret once, with a short prefix of it and an id; settings round-trip', async () => {
    const r = await gw.admin('POST', '/v1/keys', { user_id: 'keys-owner', name: 'ci', max_budget: 2.5, rpm_limit: 60 })
    expect(r.status).toBe(201)
    const k = r.body
    // tg- plus at least 32 random bytes in base64url (43 characters).
    expect(k.key).toMatch(/^tg-[A-Za-z0-9_-]{43,}$/)
    expect(typeof k.id).toBe('string')
    expect(k.id.length).toBeGreaterThan(0)
    expect(k.id).not.toContain(k.key)
    expect(typeof k.key_prefix).toBe('string')
    expect(k.key_prefix.length).toBeGreaterThan('tg-'.length)
    expect(k.key_prefix.length).toBeLessThan(k.key.length - 32)
    expect(k.key.startsWith(k.key_prefix)).toBe(true)
    expect(k.user_id).toBe('keys-owner')
    expect(k.name).toBe('ci')
    expect(k.max_budget).toBe(2.5)
    expect(k.rpm_limit).toBe(60)
    expect(k.revoked_at).toBeNull()
    expect(k.expires_at).toBeNull()

    const got = await gw.admin('GET', `/v1/keys/${k.id}`)
    expect(got.status).toBe(200)
    expect(got.body.max_budget).toBe(2.5)
    expect(got.body.rpm_limit).toBe(60)
    expect(got.body.key_prefix).toBe(k.key_prefix)

    const patched = await gw.admin('PATCH', `/v1/keys/${k.id}`, { max_budget: 7.25, rpm_limit: 120 })
    expect(patched.status).toBe(200)
    expect(patched.body.max_budget).toBe(7.25)
    expect(patched.body.rpm_limit).toBe(120)
    const again = await gw.admin('GET', `/v1/keys/${k.id}`)
    expect(again.body.max_budget).toBe(7.25)
    expect(again.body.rpm_limit).toBe(120)
  })

  test('two keys never share a secret or a hash', async () => {
    const a = await createKey()
    const b = await createKey()
    expect(a.key).not.toBe(b.key)
    expect(a.id).not.toBe(b.id)
    const rows = gw.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id IN (?, ?)', a.id, b.id)
    expect(new Set(rows.map((r) => r.key_hash)).size).toBe(2)
  })

  test('a key for an unknown user → 404', async () => {
    const r = await gw.admin('POST', '/v1/keys', { user_id: 'nobody-here', name: 'x' })
    expect(r.status).toBe(404)
    expectOpenAIError(r.body, 'user_not_found')
  })

  test('expires_at in the past → 400 naming the field', async () => {
    const r = await gw.admin('POST', '/v1/keys', { user_id: 'keys-owner', expires_at: new Date(Date.now() - 60_000).toISOString() })
    expect(r.status).toBe(400)
    expect(r.body.error.message).toContain('expires_at')
  })

  test('unknown key id → 404 on get, patch, delete and rotate', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/keys/key_does_not_exist', undefined],
      ['PATCH', '/v1/keys/key_does_not_exist', { name: 'x' }],
      ['DELETE', '/v1/keys/key_does_not_exist', undefined],
      ['POST', '/v1/keys/key_does_not_exist/rotate', undefined],
    ] as const) {
      const r = await gw.admin(method, path, body)
      expect(`${method} ${path} → ${r.status}`).toBe(`${method} ${path} → 404`)
      expectOpenAIError(r.body, 'key_not_found')
    }
  })
})

describe('the secret is never shown again and never stored', () => {
  test('GET one and GET list carry neither the secret nor a key field', async () => {
    const k = await createKey({ name: 'hidden' })

    const one = await call('GET', `/v1/keys/${k.id}`, gw.master)
    expect(one.status).toBe(200)
    expect(one.text).not.toContain(k.key)
    expect(one.body).not.toHaveProperty('key')
    expect(one.body.id).toBe(k.id)
    expect(one.body.key_prefix).toBe(k.key_prefix)

    const list = await call('GET', '/v1/keys?limit=1000', gw.master)
    expect(list.status).toBe(200)
    expect(list.text).not.toContain(k.key)
    const mine = list.body.data.find((x: any) => x.id === k.id)
    expect(mine).toBeDefined()
    for (const item of list.body.data) expect(item).not.toHaveProperty('key')

    // Nor after a PATCH or a revoke.
    const patched = await call('PATCH', `/v1/keys/${k.id}`, gw.master, { name: 'renamed' })
    expect(patched.status).toBe(200)
    expect(patched.text).not.toContain(k.key)
    expect(patched.body).not.toHaveProperty('key')
    const revoked = await call('DELETE', `/v1/keys/${k.id}`, gw.master)
    expect(revoked.status).toBe(200)
    expect(revoked.text).not.toContain(k.key)
    expect(revoked.body).not.toHaveProperty('key')
  })

  test('the database file and its WAL hold only the SHA-256 of the secret', async () => {
    const k = await createKey({ name: 'scan-me' })
    // Use it (request log, usage rows), and rotate another one, so every write path has run.
    expect((await chat(bearer(k.key))).status).toBe(200)
    expect((await chat({ 'x-api-key': k.key })).status).toBe(200)
    const r = await createKey()
    const rotated = await gw.admin('POST', `/v1/keys/${r.id}/rotate`)
    expect(rotated.status).toBe(200)
    await gw.settled()

    const [row] = gw.query<{ key_hash: string; key_prefix: string }>('SELECT key_hash, key_prefix FROM api_keys WHERE id = ?', k.id)
    expect(row!.key_hash).toBe(sha256(k.key))
    expect(row!.key_prefix).toBe(k.key_prefix)
    const [rrow] = gw.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE id = ?', r.id)
    expect(rrow!.key_hash).toBe(sha256(rotated.body.key))

    const raw = gw.storedBytes()
    // The scan sees what was written: the hashes are there…
    expect(raw.includes(sha256(k.key))).toBe(true)
    expect(raw.includes(sha256(rotated.body.key))).toBe(true)
    // …and the secrets (and their random parts) are not.
    for (const secret of [k.key, r.key, rotated.body.key]) {
      expect(raw.includes(secret)).toBe(false)
      expect(raw.includes(secret.slice('tg-'.length))).toBe(false)
    }
  })
})

describe('using a key', () => {
  test('works as Bearer and as x-api-key on chat completions', async () => {
    const k = await createKey()
    const a = await chat(bearer(k.key))
    expect(a.status).toBe(200)
    expect(a.body.choices[0].message.content).toBe('Hello from the mock provider.')
    const b = await chat({ 'x-api-key': k.key })
    expect(b.status).toBe(200)
    expect(mock.calls.length).toBe(2)
    // The provider sees the gateway's credential, never the client's key.
    for (const c of mock.calls) expect(JSON.stringify(c.headers)).not.toContain(k.key)
  })

  test('missing key and unknown tg- key → 401, on inference and admin routes, before the provider is called', async () => {
    const unknown = 'tg-' + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
    for (const headers of [{}, bearer(unknown), { 'x-api-key': unknown }] as Array<Record<string, string>>) {
      const c = await chat(headers)
      expect(c.status).toBe(401)
      expectOpenAIError(c.body, 'invalid_api_key')
      const a = await call('GET', '/v1/keys', headers)
      expect(a.status).toBe(401)
      expectOpenAIError(a.body, 'invalid_api_key')
    }
    expect(mock.calls.length).toBe(0)
  })

  test('revoke → 401 at once; GET shows revoked_at', async () => {
    const k = await createKey()
    expect((await chat(bearer(k.key))).status).toBe(200) // now cached as valid
    const before = Date.now()
    const del = await gw.admin('DELETE', `/v1/keys/${k.id}`)
    expect(del.status).toBe(200)
    expect(del.body.revoked_at).not.toBeNull()

    const c = await chat(bearer(k.key))
    expect(c.status).toBe(401)
    expectOpenAIError(c.body, 'invalid_api_key')
    expect((await chat({ 'x-api-key': k.key })).status).toBe(401)

    const got = await gw.admin('GET', `/v1/keys/${k.id}`)
    expect(got.status).toBe(200)
    expect(typeof got.body.revoked_at).toBe('string')
    const at = Date.parse(got.body.revoked_at)
    expect(at).toBeGreaterThanOrEqual(before - 1000)
    expect(at).toBeLessThanOrEqual(Date.now() + 1000)
    expect(mock.calls.length).toBe(1)
  })

  test('expires_at: works before, 401 once it has passed', async () => {
    const expiresAt = new Date(Date.now() + 1500)
    const k = await createKey({ expires_at: expiresAt.toISOString() })
    expect(Date.parse(k.expires_at as string)).toBe(expiresAt.getTime())
    expect((await chat(bearer(k.key))).status).toBe(200)
    await Bun.sleep(Math.max(0, expiresAt.getTime() - Date.now()) + 100)
    const c = await chat(bearer(k.key))
    expect(c.status).toBe(401)
    expectOpenAIError(c.body, 'invalid_api_key')
    expect(mock.calls.length).toBe(1)
  })

  test('rotate: a new secret, old one 401 at once, same id, new prefix; rotating a revoked key → 409', async () => {
    const k = await createKey({ name: 'rot' })
    expect((await chat(bearer(k.key))).status).toBe(200)
    const r = await gw.admin('POST', `/v1/keys/${k.id}/rotate`)
    expect(r.status).toBe(200)
    expect(r.body.id).toBe(k.id)
    expect(r.body.name).toBe('rot')
    expect(r.body.key).toMatch(/^tg-[A-Za-z0-9_-]{43,}$/)
    expect(r.body.key).not.toBe(k.key)
    expect(r.body.key.startsWith(r.body.key_prefix)).toBe(true)
    expect(r.body.key_prefix).not.toBe(k.key_prefix)

    expect((await chat(bearer(k.key))).status).toBe(401)
    expect((await chat({ 'x-api-key': k.key })).status).toBe(401)
    expect((await chat(bearer(r.body.key))).status).toBe(200)
    const got = await gw.admin('GET', `/v1/keys/${k.id}`)
    expect(got.body.key_prefix).toBe(r.body.key_prefix)
    expect(got.body).not.toHaveProperty('key')

    expect((await gw.admin('DELETE', `/v1/keys/${k.id}`)).status).toBe(200)
    const again = await gw.admin('POST', `/v1/keys/${k.id}/rotate`)
    expect(again.status).toBe(409)
    expectOpenAIError(again.body, 'conflict')
    expect(JSON.stringify(again.body)).not.toContain('tg-')
    expect((await chat(bearer(r.body.key))).status).toBe(401)
  })

  test('allowed_models: another model only → 403 model_not_allowed; back to null → 200', async () => {
    const k = await createKey()
    const p = await gw.admin('PATCH', `/v1/keys/${k.id}`, { allowed_models: ['mock:other'] })
    expect(p.status).toBe(200)
    expect(p.body.allowed_models).toEqual(['mock:other'])
    const c = await chat(bearer(k.key))
    expect(c.status).toBe(403)
    expectOpenAIError(c.body, 'model_not_allowed')
    expect(mock.calls.length).toBe(0)

    const back = await gw.admin('PATCH', `/v1/keys/${k.id}`, { allowed_models: null })
    expect(back.status).toBe(200)
    expect(back.body.allowed_models).toBeNull()
    expect((await chat(bearer(k.key))).status).toBe(200)
  })

  test('allowed_models written provider/model allows the model under either spelling, and /v1/models lists it', async () => {
    const k = await createKey()
    expect((await gw.admin('PATCH', `/v1/keys/${k.id}`, { allowed_models: ['mock/gpt-mock'] })).status).toBe(200)
    expect((await chat(bearer(k.key), { model: 'mock:gpt-mock' })).status).toBe(200)
    expect((await chat(bearer(k.key), { model: 'mock/gpt-mock' })).status).toBe(200)
    expect((await chat(bearer(k.key), { model: 'mock:other' })).status).toBe(403)
    const listed = await call('GET', '/v1/models', bearer(k.key))
    expect(listed.body.data.map((m: { id: string }) => m.id)).toEqual(['mock:gpt-mock'])
  })
})

describe('listing', () => {
  test('a parameter the list does not take (?user= for ?user_id=) → 400 naming it, not every key', async () => {
    const r = await gw.admin('GET', '/v1/keys?user=keys-owner')
    expect(r.status).toBe(400)
    expect(r.body.error.message).toStartWith('Invalid query: unknown parameter "user"')
  })

  test('pagination by cursor visits every key once; user_id filters', async () => {
    const created: string[] = []
    for (let i = 0; i < 5; i++) {
      const r = await gw.admin('POST', '/v1/keys', { user_id: 'keys-pages', name: `p${i}` })
      expect(r.status).toBe(201)
      created.push(r.body.id)
    }
    // A key of another user, which the filter must leave out.
    const other = await gw.admin('POST', '/v1/keys', { user_id: 'keys-other' })
    expect(other.status).toBe(201)

    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const q: string = `/v1/keys?user_id=keys-pages&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const r = await gw.admin('GET', q)
      expect(r.status).toBe(200)
      expect(r.body.data.length).toBeLessThanOrEqual(2)
      for (const k of r.body.data) {
        expect(k.user_id).toBe('keys-pages')
        expect(k).not.toHaveProperty('key')
        seen.push(k.id)
      }
      cursor = r.body.next_cursor
      pages++
      expect(pages).toBeLessThan(10)
    } while (cursor !== null)
    expect(pages).toBe(3)
    expect(new Set(seen).size).toBe(seen.length)
    expect([...seen].sort()).toEqual([...created].sort())

    // Unfiltered, the walk covers every key (the other user's too), still without duplicates.
    const all: string[] = []
    cursor = null
    do {
      const q: string = `/v1/keys?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const r = await gw.admin('GET', q)
      expect(r.status).toBe(200)
      all.push(...r.body.data.map((k: any) => k.id))
      cursor = r.body.next_cursor
    } while (cursor !== null)
    expect(new Set(all).size).toBe(all.length)
    const total = gw.query<{ n: number }>('SELECT count(*) AS n FROM api_keys')[0]!.n
    expect(all.length).toBe(total)
    for (const id of [...created, other.body.id]) expect(all).toContain(id)

    const filtered = await gw.admin('GET', '/v1/keys?user_id=keys-other')
    expect(filtered.body.data.map((k: any) => k.id)).toEqual([other.body.id])
    expect(filtered.body.next_cursor).toBeNull()
  })
})

describe('administration needs the master key', () => {
  test('every admin route answers a virtual key 403 admin_only, before validating the body, and changes nothing', async () => {
    const k = await createKey({ name: 'not-admin' })
    const victim = await createKey({ name: 'victim' })
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/v1/users', { id: 'made-by-virtual-key' }],
      ['POST', '/v1/users', { id: 'has spaces', max_budget: -1, budget_period: 'yearly' }],
      ['GET', '/v1/users'],
      ['GET', '/v1/users/keys-owner'],
      ['PATCH', '/v1/users/keys-owner', { blocked: true }],
      ['PATCH', '/v1/users/keys-owner', { nonsense_field: 1 }],
      ['DELETE', '/v1/users/keys-other'],
      ['GET', '/v1/users/keys-owner/usage'],
      ['POST', '/v1/keys', { user_id: 'keys-owner', name: 'minted-by-virtual-key' }],
      ['POST', '/v1/keys', { user_id: 42, expires_at: 'yesterday' }],
      ['GET', '/v1/keys'],
      ['GET', `/v1/keys/${victim.id}`],
      ['PATCH', `/v1/keys/${victim.id}`, { allowed_models: ['mock:other'] }],
      ['PATCH', `/v1/keys/${victim.id}`, { bogus: true, rpm_limit: -5 }],
      ['DELETE', `/v1/keys/${victim.id}`],
      ['POST', `/v1/keys/${victim.id}/rotate`],
      ['POST', '/v1/pricing', { model: 'mock:gpt-mock', input_per_million: 0, output_per_million: 0 }],
      ['POST', '/v1/pricing', { model: 'no colon', input_per_million: -1 }],
      ['GET', '/v1/pricing'],
      ['GET', '/v1/pricing/mock:gpt-mock'],
      ['DELETE', '/v1/pricing/mock:gpt-mock'],
      ['GET', '/v1/usage'],
      ['GET', '/v1/usage?limit=not-a-number'],
      ['GET', '/v1/usage/summary'],
      ['GET', '/v1/audit'],
    ]
    for (const auth of [bearer(k.key), { 'x-api-key': k.key }]) {
      for (const [method, path, body] of routes) {
        const r = await call(method, path, auth, body)
        expect(`${method} ${path} ${JSON.stringify(body)} → ${r.status}`).toBe(`${method} ${path} ${JSON.stringify(body)} → 403`)
        expectOpenAIError(r.body, 'admin_only')
      }
    }

    // Nothing any of those asked for happened.
    expect((await gw.admin('GET', '/v1/users/made-by-virtual-key')).status).toBe(404)
    expect((await gw.admin('GET', '/v1/users/keys-owner')).body.blocked).toBe(false)
    expect((await gw.admin('GET', '/v1/users/keys-other')).status).toBe(200)
    const victimNow = await gw.admin('GET', `/v1/keys/${victim.id}`)
    expect(victimNow.body.revoked_at).toBeNull()
    expect(victimNow.body.allowed_models).toBeNull()
    expect(victimNow.body.key_prefix).toBe(victim.key_prefix)
    const minted = await gw.admin('GET', '/v1/keys?user_id=keys-owner&limit=1000')
    expect(minted.body.data.some((x: any) => x.name === 'minted-by-virtual-key')).toBe(false)
    expect((await gw.admin('GET', '/v1/pricing/mock:gpt-mock')).body.input_per_million).toBe(1)
    expect((await chat(bearer(victim.key))).status).toBe(200)
  })

  test('a virtual key sending malformed JSON to an admin route also gets 403 admin_only, not a parse error', async () => {
    const k = await createKey({ name: 'not-admin-either' })
    for (const [method, path] of [
      ['POST', '/v1/users'],
      ['POST', '/v1/keys'],
      ['PATCH', `/v1/keys/${k.id}`],
      ['POST', '/v1/pricing'],
    ] as const) {
      const res = await fetch(gw.url + path, {
        method,
        headers: { ...bearer(k.key), 'content-type': 'application/json' },
        body: '{"id": "x", not json',
      })
      const body = (await res.json()) as any
      expect(`${method} ${path} → ${res.status} ${body?.error?.code}`).toBe(`${method} ${path} → 403 admin_only`)
    }
  })
})

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

async function chat(g: TestGateway, headers: Record<string, string>, extra: Record<string, unknown> = {}) {
  const res = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello there' }], ...extra }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })

/** OpenAI's shape; `param` names the field at fault of an invalid body, null otherwise. */
function expectOpenAIError(body: any, code: string, param: string | null = null) {
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), code, param } })
}

/** The cost of one answered request: $1/M input, $2/M output, rounded up to the micro-USD. */
const costOf = (usage: { prompt_tokens: number; completion_tokens: number }) =>
  Math.ceil(usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1e6

describe('create', () => {
  test('201 with the given fields, nothing spent, nothing held, not blocked', async () => {
    const r = await gw.admin('POST', '/v1/users', { id: 'team-alpha', alias: 'Alpha team', max_budget: 12.5, budget_period: 'monthly' })
    expect(r.status).toBe(201)
    expect(r.body).toMatchObject({
      id: 'team-alpha',
      alias: 'Alpha team',
      max_budget: 12.5,
      budget_period: 'monthly',
      spend: 0,
      reserved: 0,
      blocked: false,
    })
    const got = await gw.admin('GET', '/v1/users/team-alpha')
    expect(got.status).toBe(200)
    expect(got.body).toMatchObject({ id: 'team-alpha', alias: 'Alpha team', max_budget: 12.5, budget_period: 'monthly', spend: 0, reserved: 0, blocked: false })
  })

  test('defaults: no budget, no period', async () => {
    const r = await gw.admin('POST', '/v1/users', { id: 'bare@example.com' })
    expect(r.status).toBe(201)
    expect(r.body).toMatchObject({ id: 'bare@example.com', alias: null, max_budget: null, budget_period: null, spend: 0, reserved: 0, blocked: false })
  })

  test('a duplicate id → 409, and the first user is left as it was', async () => {
    expect((await gw.admin('POST', '/v1/users', { id: 'dup-user', alias: 'first' })).status).toBe(201)
    const again = await gw.admin('POST', '/v1/users', { id: 'dup-user', alias: 'second', max_budget: 1 })
    expect(again.status).toBe(409)
    expectOpenAIError(again.body, 'conflict')
    const got = await gw.admin('GET', '/v1/users/dup-user')
    expect(got.body.alias).toBe('first')
    expect(got.body.max_budget).toBeNull()
  })

  test('an invalid body → 400 whose message names the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ id: 'bad-budget', max_budget: -1 }, 'max_budget'],
      [{ id: 'bad-period', budget_period: 'yearly' }, 'budget_period'],
      [{ id: 'has spaces' }, 'id'],
      [{ alias: 'no id at all' }, 'id'],
    ]
    for (const [body, field] of cases) {
      const r = await gw.admin('POST', '/v1/users', body)
      expect(`${JSON.stringify(body)} → ${r.status}`).toBe(`${JSON.stringify(body)} → 400`)
      expectOpenAIError(r.body, 'invalid_request', field)
      expect(r.body.error.message).toMatch(new RegExp(`\\b${field}\\b`))
    }
    for (const id of ['bad-budget', 'bad-period']) expect((await gw.admin('GET', `/v1/users/${id}`)).status).toBe(404)
    const list = await gw.admin('GET', '/v1/users?limit=1000')
    expect(list.body.data.some((u: any) => u.id === 'has spaces' || u.alias === 'no id at all')).toBe(false)
  })

  test('GET of an unknown user → 404', async () => {
    const r = await gw.admin('GET', '/v1/users/no-such-user')
    expect(r.status).toBe(404)
    expectOpenAIError(r.body, 'user_not_found')
  })
})

describe('list', () => {
  test('a parameter the list does not take → 400 naming it', async () => {
    const r = await gw.admin('GET', '/v1/users?limt=1')
    expect(r.status).toBe(400)
    expect(r.body.error.message).toContain('"limt"')
  })

  test('pages by cursor and by offset, each user once', async () => {
    const ids = ['pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e']
    for (const id of ids) expect((await gw.admin('POST', '/v1/users', { id })).status).toBe(201)

    const full = await gw.admin('GET', '/v1/users?limit=1000')
    expect(full.status).toBe(200)
    expect(full.body.next_cursor).toBeNull()
    const all: string[] = full.body.data.map((u: any) => u.id)
    for (const id of ids) expect(all).toContain(id)
    expect(all.length).toBe(gw.query<{ n: number }>('SELECT count(*) AS n FROM users')[0]!.n)

    // By cursor.
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const q: string = `/v1/users?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`
      const r = await gw.admin('GET', q)
      expect(r.status).toBe(200)
      expect(r.body.data.length).toBeLessThanOrEqual(2)
      seen.push(...r.body.data.map((u: any) => u.id))
      cursor = r.body.next_cursor
      expect(++pages).toBeLessThan(100)
    } while (cursor !== null)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen).toEqual(all)
    expect(pages).toBe(Math.ceil(all.length / 2))

    // By offset: each page is the matching slice of the full list.
    const byOffset: string[] = []
    for (let offset = 0; offset < all.length; offset += 2) {
      const r = await gw.admin('GET', `/v1/users?limit=2&offset=${offset}`)
      expect(r.status).toBe(200)
      const page = r.body.data.map((u: any) => u.id)
      expect(page).toEqual(all.slice(offset, offset + 2))
      expect(r.body.next_cursor === null).toBe(offset + 2 >= all.length)
      byOffset.push(...page)
    }
    expect(byOffset).toEqual(all)
    const past = await gw.admin('GET', `/v1/users?limit=2&offset=${all.length}`)
    expect(past.body).toEqual({ data: [], next_cursor: null })
  })

  test('bad paging values → 400', async () => {
    for (const q of ['limit=0', 'limit=abc', 'offset=-1', 'limit=100000']) {
      const r = await gw.admin('GET', `/v1/users?${q}`)
      expect(`${q} → ${r.status}`).toBe(`${q} → 400`)
    }
  })
})

describe('update and delete', () => {
  test('PATCH changes alias, max_budget and blocked', async () => {
    expect((await gw.admin('POST', '/v1/users', { id: 'patch-me', alias: 'old', max_budget: 1 })).status).toBe(201)
    const p = await gw.admin('PATCH', '/v1/users/patch-me', { alias: 'new name', max_budget: 3.75, blocked: true })
    expect(p.status).toBe(200)
    expect(p.body).toMatchObject({ id: 'patch-me', alias: 'new name', max_budget: 3.75, blocked: true })
    const got = await gw.admin('GET', '/v1/users/patch-me')
    expect(got.body).toMatchObject({ alias: 'new name', max_budget: 3.75, blocked: true })

    const q = await gw.admin('PATCH', '/v1/users/patch-me', { max_budget: null, blocked: false })
    expect(q.status).toBe(200)
    expect(q.body).toMatchObject({ alias: 'new name', max_budget: null, blocked: false })
  })

  test('PATCH with an unknown field → 400 naming it, and changes nothing', async () => {
    expect((await gw.admin('POST', '/v1/users', { id: 'strict-patch', alias: 'kept' })).status).toBe(201)
    const r = await gw.admin('PATCH', '/v1/users/strict-patch', { alias: 'changed', spend: 0, colour: 'blue' })
    expect(r.status).toBe(400)
    expectOpenAIError(r.body, 'invalid_request')
    expect(r.body.error.message).toMatch(/spend|colour/)
    expect((await gw.admin('GET', '/v1/users/strict-patch')).body.alias).toBe('kept')
    // The id is not changeable either.
    expect((await gw.admin('PATCH', '/v1/users/strict-patch', { id: 'renamed' })).status).toBe(400)
    // PATCH of an unknown user → 404.
    expect((await gw.admin('PATCH', '/v1/users/nobody-to-patch', { alias: 'x' })).status).toBe(404)
  })

  test("a blocked user's key gets 403 user_blocked; unblocking restores 200", async () => {
    const { secret } = await gw.userWithKey({ id: 'blockable' })
    expect((await chat(gw, bearer(secret))).status).toBe(200)
    expect((await gw.admin('PATCH', '/v1/users/blockable', { blocked: true })).status).toBe(200)
    const c = await chat(gw, bearer(secret))
    expect(c.status).toBe(403)
    expectOpenAIError(c.body, 'user_blocked')
    expect(mock.calls.length).toBe(1)
    await gw.settled()
    expect((await gw.admin('GET', '/v1/users/blockable')).body.reserved).toBe(0)

    expect((await gw.admin('PATCH', '/v1/users/blockable', { blocked: false })).status).toBe(200)
    expect((await chat(gw, bearer(secret))).status).toBe(200)
  })

  test("a blocked user's key is refused the free calls too (counting tokens, stored responses); none reaches the provider", async () => {
    const { secret } = await gw.userWithKey({ id: 'blocked-free' })
    const post = (path: string, body: unknown) =>
      fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(secret) }, body: JSON.stringify(body) })
    const countTokens = () => post('/v1/messages/count_tokens', { model: 'mockant:claude-mock', messages: [{ role: 'user', content: 'hello there' }] })
    expect((await countTokens()).status).toBe(200)
    expect(mock.calls.length).toBe(1)
    mock.reset()

    expect((await gw.admin('PATCH', '/v1/users/blocked-free', { blocked: true })).status).toBe(200)
    const counted = await countTokens()
    expect(counted.status).toBe(403)
    // The Messages routes answer in Anthropic's error shape.
    expect(await counted.json()).toEqual({ type: 'error', error: { type: expect.any(String), message: 'This user is blocked.' } })
    const inputTokens = await post('/v1/responses/input_tokens', { model: 'mock:gpt-mock', input: 'hello there' })
    expect(inputTokens.status).toBe(403)
    expectOpenAIError(await inputTokens.json(), 'user_blocked')
    for (const [method, path] of [['GET', '/v1/responses/resp_abc'], ['DELETE', '/v1/responses/resp_abc'], ['POST', '/v1/responses/resp_abc/cancel'], ['GET', '/v1/responses/resp_abc/input_items']]) {
      const res = await fetch(`${gw.url}${path}`, { method, headers: bearer(secret) })
      expect(res.status).toBe(403)
      expectOpenAIError(await res.json(), 'user_blocked')
    }
    expect(mock.calls.length).toBe(0)
    // What reaches no provider still answers: the key's own page says why it is refused.
    const own = await fetch(`${gw.url}/v1/key`, { headers: bearer(secret) })
    expect(own.status).toBe(200)
    expect(((await own.json()) as { user: { blocked: boolean } }).user.blocked).toBe(true)
    expect((await fetch(`${gw.url}/v1/models`, { headers: bearer(secret) })).status).toBe(200)

    expect((await gw.admin('PATCH', '/v1/users/blocked-free', { blocked: false })).status).toBe(200)
    expect((await countTokens()).status).toBe(200)
  })

  test("DELETE → 200; the user's keys stop working; GET → 404", async () => {
    const a = await gw.userWithKey({ id: 'doomed' })
    const b = await gw.admin('POST', '/v1/keys', { user_id: 'doomed', name: 'second' })
    expect(b.status).toBe(201)
    expect((await chat(gw, bearer(a.secret))).status).toBe(200)
    expect((await chat(gw, { 'x-api-key': b.body.key })).status).toBe(200)
    await gw.settled()

    const d = await gw.admin('DELETE', '/v1/users/doomed')
    expect(d.status).toBe(200)
    for (const headers of [bearer(a.secret), { 'x-api-key': a.secret }, bearer(b.body.key)]) {
      const c = await chat(gw, headers)
      expect(c.status).toBe(401)
      expectOpenAIError(c.body, 'invalid_api_key')
    }
    expect((await gw.admin('GET', '/v1/users/doomed')).status).toBe(404)
    expect((await gw.admin('GET', `/v1/keys/${a.keyId}`)).status).toBe(404)
    expect((await gw.admin('GET', '/v1/keys?user_id=doomed')).body.data).toEqual([])
    expect((await gw.admin('DELETE', '/v1/users/doomed')).status).toBe(404)
    // The id stays with the deleted user's usage rows: no new user takes it (and its records with it).
    const again = await gw.admin('POST', '/v1/users', { id: 'doomed' })
    expect([again.status, again.body.error.code]).toEqual([409, 'user_id_used'])
    expect((await chat(gw, bearer(a.secret))).status).toBe(401)
  })

  test('POST of a live user\'s id is 409 "already exists", its usage rows notwithstanding (not "belonged to a deleted user")', async () => {
    const a = await gw.userWithKey({ id: 'alive-with-usage' })
    expect((await chat(gw, bearer(a.secret))).status).toBe(200)
    await gw.settled()
    const again = await gw.admin('POST', '/v1/users', { id: 'alive-with-usage' })
    expect([again.status, again.body.error.code]).toEqual([409, 'conflict'])
    expect(again.body.error.message).toContain('already exists')
    // And the user it names is untouched: its key still serves.
    expect((await chat(gw, bearer(a.secret))).status).toBe(200)
  })
})

describe('budget periods', () => {
  const DAY = 86_400_000
  const micros = (usd: number) => Math.round(usd * 1e6)
  const expectedStart = (period: string, now: number) => {
    const d = new Date(now)
    const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    if (period === 'daily') return midnight
    if (period === 'weekly') return midnight - ((d.getUTCDay() + 6) % 7) * DAY
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
  }

  test('period_start: UTC midnight today, Monday 00:00 UTC, the 1st of the month, null without a period', async () => {
    for (const period of ['daily', 'weekly', 'monthly'] as const) {
      const before = Date.now()
      const r = await gw.admin('POST', '/v1/users', { id: `period-${period}`, budget_period: period, max_budget: 5 })
      const after = Date.now()
      expect(r.status).toBe(201)
      const start = Date.parse(r.body.period_start)
      // (Either side of a midnight that fell during the request.)
      expect([expectedStart(period, before), expectedStart(period, after)]).toContain(start)
      const d = new Date(start)
      expect([d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]).toEqual([0, 0, 0, 0])
      if (period === 'weekly') expect(d.getUTCDay()).toBe(1)
      if (period === 'monthly') expect(d.getUTCDate()).toBe(1)
      expect(start).toBeLessThanOrEqual(after)
      expect(after - start).toBeLessThan(period === 'daily' ? DAY : period === 'weekly' ? 7 * DAY : 31 * DAY)
      expect((await gw.admin('GET', `/v1/users/period-${period}`)).body.period_start).toBe(r.body.period_start)
    }
    const none = await gw.admin('POST', '/v1/users', { id: 'period-none', max_budget: 5 })
    expect(none.status).toBe(201)
    expect(none.body.period_start).toBeNull()
    expect((await gw.admin('GET', '/v1/users/period-none')).body.period_start).toBeNull()
  })

  test("a change of budget_period: the new kind's calendar period, spend what its usage cost, a settlement committed before the change reached the row and dated after its clock reading included", async () => {
    const { secret } = await gw.userWithKey({ id: 'period-switch', max_budget: 5, budget_period: 'monthly' })
    const before = await chat(gw, bearer(secret))
    expect(before.status).toBe(200)
    await gw.settled()
    const earlier = costOf(before.body.usage)
    // Another replica's settlement, its clock a minute ahead of this one's, committed just before the change.
    gw.exec('UPDATE users SET spend = spend + 7 WHERE id = ?', 'period-switch')
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
       VALUES ('ahead', ?, 'period-switch', NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 7, 7, 'ok')`,
      Date.now() + 60_000,
    )
    const changedAt = Date.now()
    const p = await gw.admin('PATCH', '/v1/users/period-switch', { budget_period: 'daily' })
    const after = Date.now()
    expect(p.status).toBe(200)
    // Today (UTC), as a roll would start it: the request made earlier today counts, and so does the one dated after the change.
    expect([expectedStart('daily', changedAt), expectedStart('daily', after)]).toContain(Date.parse(p.body.period_start))
    expect(p.body.budget_period).toBe('daily')
    expect(micros(p.body.spend)).toBe(micros(earlier) + 7)
    const [inPeriod] = gw.query('SELECT coalesce(sum(cost), 0) AS cost, count(*) AS n FROM usage WHERE user_id = ? AND created_at >= ?', 'period-switch', Date.parse(p.body.period_start))
    expect([Number(inPeriod.n), Number(inPeriod.cost) / 1e6]).toEqual([2, p.body.spend])
    expect((await gw.admin('GET', '/v1/users/period-switch')).body.spend).toBe(p.body.spend)
  })

  test('toggling budget_period never hands out a fresh budget; no period counts all spend, the older periods\' included', async () => {
    const { secret } = await gw.userWithKey({ id: 'period-toggle', max_budget: 5, budget_period: 'daily' })
    expect((await chat(gw, bearer(secret))).status).toBe(200)
    await gw.settled()
    const today = (await gw.admin('GET', '/v1/users/period-toggle')).body.spend as number
    expect(today).toBeGreaterThan(0)
    // A request of last month's: no calendar period under way holds it.
    const lastMonth = expectedStart('monthly', expectedStart('monthly', Date.now()) - 1)
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
       VALUES ('last-month', ?, 'period-toggle', NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 3, 3, 'ok')`,
      lastMonth,
    )
    for (const period of ['monthly', 'weekly', 'daily', 'monthly'] as const) {
      const p = await gw.admin('PATCH', '/v1/users/period-toggle', { budget_period: period })
      expect(p.status).toBe(200)
      expect(p.body).toMatchObject({ budget_period: period, spend: today, period_start: new Date(expectedStart(period, Date.now())).toISOString() })
    }
    const none = await gw.admin('PATCH', '/v1/users/period-toggle', { budget_period: null })
    expect(none.status).toBe(200)
    expect(none.body).toMatchObject({ budget_period: null, period_start: null })
    expect(micros(none.body.spend)).toBe(micros(today) + 3)
    const back = await gw.admin('PATCH', '/v1/users/period-toggle', { budget_period: 'daily' })
    expect(back.body).toMatchObject({ budget_period: 'daily', spend: today })
  })
})

describe('who pays (SPEC §4)', () => {
  test('a key naming another user → 403 user_mismatch, nothing called or billed; naming its own → 200', async () => {
    const { secret } = await gw.userWithKey({ id: 'payer' })
    expect((await gw.admin('POST', '/v1/users', { id: 'someone-else' })).status).toBe(201)

    const c = await chat(gw, bearer(secret), { user: 'someone-else' })
    expect(c.status).toBe(403)
    expectOpenAIError(c.body, 'user_mismatch')
    expect(mock.calls.length).toBe(0)
    await gw.settled()
    expect((await gw.admin('GET', '/v1/users/payer')).body).toMatchObject({ spend: 0, reserved: 0 })
    expect((await gw.admin('GET', '/v1/users/someone-else')).body).toMatchObject({ spend: 0, reserved: 0 })

    const own = await chat(gw, bearer(secret), { user: 'payer' })
    expect(own.status).toBe(200)
    await gw.settled()
    expect((await gw.admin('GET', '/v1/users/payer')).body.spend).toBeCloseTo(costOf(own.body.usage), 9)
    expect((await gw.admin('GET', '/v1/users/someone-else')).body.spend).toBe(0)
  })

  test('with reject_user_mismatch off: 200, billed to the key’s own user, the name forwarded upstream as the end-user tag', async () => {
    const lax = await startTestGateway({ mock, config: { reject_user_mismatch: false } })
    try {
      const { secret, keyId } = await lax.userWithKey({ id: 'key-owner' })
      expect((await lax.admin('POST', '/v1/users', { id: 'someone-else' })).status).toBe(201)

      const c = await chat(lax, bearer(secret), { user: 'someone-else' })
      expect(c.status).toBe(200)
      expect(mock.calls.length).toBe(1)
      expect((mock.calls[0]!.body as any).user).toBe('someone-else')

      await lax.settled()
      const owner = (await lax.admin('GET', '/v1/users/key-owner')).body
      expect(owner.spend).toBeGreaterThan(0)
      expect(owner.spend).toBeCloseTo(costOf(c.body.usage), 9)
      expect(owner.reserved).toBe(0)
      expect((await lax.admin('GET', '/v1/users/someone-else')).body).toMatchObject({ spend: 0, reserved: 0 })
      const rows = lax.query<{ user_id: string; key_id: string }>('SELECT user_id, key_id FROM usage')
      expect(rows).toEqual([{ user_id: 'key-owner', key_id: keyId }])

      // A name nobody has is no different: still the key's own user.
      const ghost = await chat(lax, bearer(secret), { user: 'not-a-user-at-all' })
      expect(ghost.status).toBe(200)
      await lax.settled()
      expect((await lax.admin('GET', '/v1/users/key-owner')).body.spend).toBeCloseTo(costOf(c.body.usage) + costOf(ghost.body.usage), 9)
    } finally {
      await lax.stop()
    }
  })

  test('the master key must name an existing user: none → 400, unknown → 404, existing → 200 billed to it', async () => {
    expect((await gw.admin('POST', '/v1/users', { id: 'billed-by-master' })).status).toBe(201)

    const none = await chat(gw, gw.master)
    expect(none.status).toBe(400)
    expect(none.body.error.message).toContain('user')
    const unknown = await chat(gw, gw.master, { user: 'ghost-user' })
    expect(unknown.status).toBe(404)
    expectOpenAIError(unknown.body, 'user_not_found')
    expect(mock.calls.length).toBe(0)

    const ok = await chat(gw, gw.master, { user: 'billed-by-master' })
    expect(ok.status).toBe(200)
    await gw.settled()
    const u = (await gw.admin('GET', '/v1/users/billed-by-master')).body
    expect(u.spend).toBeGreaterThan(0)
    expect(u.spend).toBeCloseTo(costOf(ok.body.usage), 9)
    expect(u.reserved).toBe(0)
    const rows = gw.query<{ key_id: string | null }>("SELECT key_id FROM usage WHERE user_id = 'billed-by-master'")
    expect(rows.length).toBe(1)
    expect(gw.query('SELECT count(*) AS n FROM usage WHERE user_id = ?', 'ghost-user')[0].n).toBe(0)
  })
})

/**
 * Gateway processes on one real Postgres (TOLLGATE_DATABASE_URL): budgets shared exactly across replicas,
 * a replica killed with holds open, Postgres stopped under load, and the admin and records API on the
 * Postgres store.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'
import { expectRollupsEqualRaw } from './support/rollups'
import { chat, HOLD_USD, longText, PRICING } from '../support/exact-model'

let pg: TestPostgres
let mock: MockProvider
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText, latencyMs: 30 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})
beforeEach(() => mock.reset())

/** `count` gateway processes on a fresh Postgres database; returns them and a client on that database. */
async function replicas(count: number, env: Record<string, string> = {}) {
  const url = await pg.database(`gw_${++n}`)
  const gateways: SpawnedGateway[] = []
  // One first, so that it applies the migrations; then the rest together.
  gateways.push(await spawnGateway({ mock, config: { pricing: PRICING }, env: { TOLLGATE_DATABASE_URL: url, ...env } }))
  gateways.push(...(await Promise.all(Array.from({ length: count - 1 }, () => spawnGateway({ mock, config: { pricing: PRICING }, env: { TOLLGATE_DATABASE_URL: url, ...env } })))))
  const sql = new Bun.SQL(url)
  return {
    gateways,
    sql,
    async stop() {
      await Promise.all(gateways.map((g) => g.stop()))
      await sql.close()
    },
  }
}

/** reserved is 0, spend = Σ usage cost, no hold left; returns the user's figures (USD) and usage rows. */
async function expectLedgerClean(sql: InstanceType<typeof Bun.SQL>, gw: SpawnedGateway[], userId: string, maxBudget: number) {
  for (const g of gw) await g.settled()
  const user = (await gw[0]!.admin('GET', `/v1/users/${userId}`)).body
  expect(user.reserved).toBe(0)
  expect(user.spend).toBeLessThanOrEqual(maxBudget + 1e-12)
  expect(Number((await sql`SELECT count(*) AS n FROM reservations`)[0].n)).toBe(0)
  const [{ s }] = await sql`SELECT coalesce(sum(cost), 0) AS s FROM usage WHERE user_id = ${userId}`
  expect(user.spend).toBeCloseTo(Number(s) / 1e6, 9)
  // The rollups' trigger upserted the same rows from every replica's settlement batches at once.
  await expectRollupsEqualRaw(sql)
  return user
}

const upstreamCalls = () => mock.calls.filter((c) => c.path === '/v1/chat/completions').length

describe('three replicas on one Postgres', () => {
  test('300 simultaneous requests against a budget for exactly k: k served, k upstream calls, nothing overshoots', async () => {
    const r = await replicas(3)
    try {
      const k = 13
      const { secret } = await r.gateways[0]!.userWithKey({ id: 'tight', max_budget: k * HOLD_USD })
      const statuses = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(r.gateways[i % 3]!.url, secret).then((res) => res.status)))
      expect(statuses.filter((s) => s === 200).length).toBe(k)
      expect(statuses.filter((s) => s === 402).length).toBe(300 - k)
      expect(upstreamCalls()).toBe(k)
      const user = await expectLedgerClean(r.sql, r.gateways, 'tight', k * HOLD_USD)
      expect(user.spend).toBeCloseTo(k * HOLD_USD, 9)
      expect(Number((await r.sql`SELECT count(*) AS n FROM usage WHERE status = 'ok'`)[0].n)).toBe(k)
    } finally {
      await r.stop()
    }
  })

  test('a 402 only a hold in flight causes invites a retry; once the budget is spent it does not', async () => {
    const r = await replicas(1)
    try {
      const { secret } = await r.gateways[0]!.userWithKey({ id: 'held', max_budget: 1.5 * HOLD_USD })
      mock.options = { ...mock.options, latencyMs: 500 }
      const first = chat(r.gateways[0]!.url, secret)
      while (upstreamCalls() === 0) await Bun.sleep(5)
      const held = await chat(r.gateways[0]!.url, secret)
      expect([held.status, held.headers.get('x-should-retry'), held.headers.get('retry-after')]).toEqual([402, 'true', '1'])
      expect((await first).status).toBe(200)
      await r.gateways[0]!.settled()
      // The first answer cost its whole hold: what is left is spent, not held.
      const spent = await chat(r.gateways[0]!.url, secret)
      expect([spent.status, spent.headers.get('x-should-retry'), spent.headers.get('retry-after')]).toEqual([402, 'false', null])
    } finally {
      mock.options = { ...mock.options, latencyMs: 30 }
      await r.stop()
    }
  })

  test('per-key ceilings under one big user budget: each key serves exactly its own ceiling', async () => {
    const r = await replicas(3)
    try {
      const gw = r.gateways[0]!
      const first = await gw.userWithKey({ id: 'team', max_budget: 1000 * HOLD_USD }, { max_budget: 5 * HOLD_USD })
      const second = await gw.admin('POST', '/v1/keys', { user_id: 'team', max_budget: 8 * HOLD_USD })
      const keys = [first.secret, second.body.key as string]
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => chat(r.gateways[i % 3]!.url, keys[i % 2]!).then((res) => ({ key: i % 2, status: res.status }))),
      )
      expect(results.filter((x) => x.key === 0 && x.status === 200).length).toBe(5)
      expect(results.filter((x) => x.key === 1 && x.status === 200).length).toBe(8)
      expect(upstreamCalls()).toBe(13)
      const user = await expectLedgerClean(r.sql, r.gateways, 'team', 1000 * HOLD_USD)
      expect(user.spend).toBeCloseTo(13 * HOLD_USD, 9)
      const keyFigures = await r.sql`SELECT spend, reserved, max_budget FROM api_keys ORDER BY max_budget`
      for (const k of keyFigures) expect([Number(k.spend), Number(k.reserved)]).toEqual([Number(k.max_budget), 0])
    } finally {
      await r.stop()
    }
  })

  test('streams cut mid-way by their clients: every hold settled, spend within the budget and equal to the usage rows', async () => {
    mock.options = { ...mock.options, chunks: 20, chunkDelayMs: 20 }
    const r = await replicas(3)
    try {
      const k = 10
      const { secret } = await r.gateways[0]!.userWithKey({ id: 'cut', max_budget: k * HOLD_USD })
      const outcomes = await Promise.all(
        Array.from({ length: 90 }, async (_, i) => {
          const abort = new AbortController()
          const res = await chat(r.gateways[i % 3]!.url, secret, { stream: true }, abort.signal).catch(() => null)
          if (!res || res.status !== 200) return res?.status ?? 0
          // Read until some output has been delivered (the first event may carry only the role, which costs
          // nothing at this model's $0 input price), then hang up.
          const reader = res.body!.getReader()
          const decoder = new TextDecoder()
          let seen = ''
          while (!/"content":"[^"]/.test(seen)) {
            const { value, done } = await reader.read()
            if (done) break
            seen += decoder.decode(value, { stream: true })
          }
          abort.abort()
          await reader.cancel().catch(() => {})
          return 200
        }),
      )
      const served = outcomes.filter((s) => s === 200).length
      // A cut stream pays less than its hold, so a late arrival may fit in what it gave back: at least k.
      expect(served).toBeGreaterThanOrEqual(k)
      if (outcomes.some((s) => s !== 200 && s !== 402)) console.error(r.gateways.map((g) => g.output().slice(-3000)).join('\n----\n'))
      expect(outcomes.filter((s) => s !== 200 && s !== 402)).toEqual([])
      expect(upstreamCalls()).toBe(served)
      await Bun.sleep(300)
      const user = await expectLedgerClean(r.sql, r.gateways, 'cut', k * HOLD_USD)
      expect(Number((await r.sql`SELECT count(*) AS n FROM usage`)[0].n)).toBe(served)
      expect(user.spend).toBeGreaterThan(0)
    } finally {
      await r.stop()
    }
  })

  test('a period roll-over during the burst: the replicas roll it once, and the new period serves exactly its budget', async () => {
    const r = await replicas(3)
    try {
      const k = 9
      const { secret } = await r.gateways[0]!.userWithKey({ id: 'daily', max_budget: k * HOLD_USD, budget_period: 'daily' })
      // Yesterday's period, spent to the last micro-USD: the burst lands on its first request of the new day.
      const yesterday = Date.now() - 86_400_000
      const dayStart = yesterday - (yesterday % 86_400_000)
      await r.sql`UPDATE users SET spend = max_budget, period_start = ${dayStart} WHERE id = 'daily'`
      const statuses = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(r.gateways[i % 3]!.url, secret).then((res) => res.status)))
      expect(statuses.filter((s) => s === 200).length).toBe(k)
      expect(upstreamCalls()).toBe(k)
      const user = await expectLedgerClean(r.sql, r.gateways, 'daily', k * HOLD_USD)
      expect(user.spend).toBeCloseTo(k * HOLD_USD, 9)
      expect(Date.parse(user.period_start)).toBe(dayStart + 86_400_000)
    } finally {
      await r.stop()
    }
  })

  test('kill -9 of a replica with holds open: another replica sweeps them after the TTL, each charged once', async () => {
    mock.behavior = 'hang'
    const r = await replicas(2, { TOLLGATE_RESERVATION_TTL_SEC: '1' })
    const [doomed, survivor] = r.gateways as [SpawnedGateway, SpawnedGateway]
    try {
      const { secret } = await doomed.userWithKey({ id: 'crashy', max_budget: 1 })
      const inFlight = Array.from({ length: 20 }, () => chat(doomed.url, secret).catch(() => null))
      const openHolds = async () => Number((await r.sql`SELECT count(*) AS n FROM reservations`)[0].n)
      for (let i = 0; i < 200 && (await openHolds()) < 20; i++) await Bun.sleep(20)
      expect(await openHolds()).toBe(20)
      const held = Number((await r.sql`SELECT sum(amount) AS s FROM reservations`)[0].s)
      doomed.proc.kill('SIGKILL')
      await doomed.proc.exited
      await Promise.all(inFlight)
      mock.behavior = 'ok'
      // The survivor sweeps every TTL (1 s here): wait for it, never longer than a few rounds.
      for (let i = 0; i < 100 && (await openHolds()) > 0; i++) await Bun.sleep(100)
      expect(await openHolds()).toBe(0)
      const rows = await r.sql`SELECT status, cost, reserved FROM usage`
      expect(rows.length).toBe(20)
      for (const row of rows) expect([row.status, Number(row.cost)]).toEqual(['expired', Number(row.reserved)])
      const user = (await survivor.admin('GET', '/v1/users/crashy')).body
      expect(user.reserved).toBe(0)
      expect(user.spend).toBeCloseTo(held / 1e6, 9)
      await expectRollupsEqualRaw(r.sql, 20)
    } finally {
      await r.stop()
    }
  })

  test('Postgres stopped mid-load: 503s naming the database, no upstream call without a hold, /health 503, service back when it returns', async () => {
    const r = await replicas(2)
    const [a, b] = r.gateways as [SpawnedGateway, SpawnedGateway]
    try {
      const { secret } = await a.userWithKey({ id: 'steady', max_budget: 1 })
      // Warm the key caches, so that requests get as far as the hold.
      expect((await chat(a.url, secret)).status).toBe(200)
      expect((await chat(b.url, secret)).status).toBe(200)
      await a.settled()
      mock.reset()
      await pg.stop()
      const during = await Promise.all(Array.from({ length: 40 }, (_, i) => chat((i % 2 ? a : b).url, secret)))
      expect(during.every((res) => res.status === 503)).toBe(true)
      const body = (await during[0]!.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('database_unavailable')
      expect(during[0]!.headers.get('retry-after')).toBe('1')
      expect(upstreamCalls()).toBe(0)
      expect((await fetch(`${a.url}/health`)).status).toBe(503)
      await pg.start()
      // Recovery without a restart: the pool reconnects on the next request.
      let health = 0
      for (let i = 0; i < 50 && health !== 200; i++) {
        health = (await fetch(`${a.url}/health`)).status
        if (health !== 200) await Bun.sleep(100)
      }
      expect(health).toBe(200)
      const after = await Promise.all(Array.from({ length: 10 }, (_, i) => chat((i % 2 ? a : b).url, secret).then((res) => res.status)))
      if (after.some((s) => s !== 200)) console.error(a.output(), b.output())
      expect(after).toEqual(Array(10).fill(200))
      expect(upstreamCalls()).toBe(10)
      await expectLedgerClean(r.sql, r.gateways, 'steady', 1)
    } finally {
      await r.stop()
    }
  })
})

describe('admin and records API on the Postgres store', () => {
  test('users, keys, prices with history, usage, the summary and the audit log, through the official client', async () => {
    const r = await replicas(2)
    const [a, b] = r.gateways as [SpawnedGateway, SpawnedGateway]
    try {
      const { secret, keyId } = await a.userWithKey({ id: 'alice', alias: 'Alice', max_budget: 2 }, { name: 'laptop' })
      expect((await b.admin('GET', '/v1/users/alice')).body).toMatchObject({ id: 'alice', alias: 'Alice', max_budget: 2, spend: 0 })
      expect((await a.admin('POST', '/v1/users', { id: 'alice' })).status).toBe(409)
      const priced = await b.admin('POST', '/v1/pricing', { model: 'mock:gpt-mock', input_per_million: 1, output_per_million: 2, cached_input_per_million: 0.5 })
      expect(priced.status).toBe(201)
      const client = new OpenAI({ baseURL: `${a.url}/v1`, apiKey: secret })
      const completion = await client.chat.completions.create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello' }] })
      expect(completion.choices[0]!.message.content).toBeString()
      await a.settled()
      const usage = (await b.admin('GET', '/v1/usage?user_id=alice')).body
      expect(usage.data.length).toBe(1)
      expect(usage.data[0]).toMatchObject({ user_id: 'alice', key_id: keyId, model: 'mock:gpt-mock', status: 'ok', price_id: priced.body.id })
      const summary = (await b.admin('GET', '/v1/usage/summary')).body
      expect(summary.data).toEqual([expect.objectContaining({ user_id: 'alice', model: 'mock:gpt-mock', requests: 1, day: new Date().toISOString().slice(0, 10) })])
      expect(summary.totals.requests).toBe(1)
      expect((await b.admin('GET', '/v1/users/alice/usage')).body.totals.requests).toBe(1)
      await a.admin('POST', '/v1/pricing', { model: 'mock:gpt-mock', input_per_million: 3, output_per_million: 4 })
      const history = (await b.admin('GET', '/v1/pricing/history?model=mock:gpt-mock')).body.data
      expect(history.map((p: { input_per_million: number }) => p.input_per_million)).toEqual([3, 1])
      expect(history[1].effective_until).not.toBeNull()
      expect((await b.admin('GET', '/v1/pricing/mock:gpt-mock')).body.input_per_million).toBe(3)
      const patched = await b.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: 1, rpm_limit: 100 })
      expect(patched.body).toMatchObject({ max_budget: 1, rpm_limit: 100 })
      expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).body.revoked_at).not.toBeNull()
      expect((await fetch(`${a.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401)
      await a.settled()
      const audit = (await b.admin('GET', '/v1/audit?route=/v1/chat/completions')).body.data
      expect(audit.some((row: { status: number; key_id: string }) => row.status === 200 && row.key_id === keyId)).toBe(true)
      expect((await a.admin('DELETE', '/v1/users/alice')).body).toEqual({ id: 'alice', deleted: true })
      expect((await b.admin('GET', '/v1/users/alice')).status).toBe(404)
    } finally {
      await r.stop()
    }
  })
})

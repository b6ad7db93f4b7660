import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { spawnGateway, startTestGateway, tempDir, type TestGateway } from './support/gateway'
import { waitFor } from './support/wait-for'
// Every request costs exactly its hold: a budget of k holds admits exactly k requests, never a k+1-th.
import { chat, HOLD_USD, longText, PRICING } from './support/exact-model'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ completionText: longText, latencyMs: 30 })
})
afterAll(() => mock.stop())
beforeEach(() => mock.reset())

async function expectLedgerClean(gw: TestGateway, userId: string, maxBudget: number) {
  await gw.settled()
  const user = (await gw.admin('GET', `/v1/users/${userId}`)).body
  expect(user.reserved).toBe(0)
  expect(user.spend).toBeLessThanOrEqual(maxBudget + 1e-12)
  expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
  const usageSum = gw.query('SELECT coalesce(sum(cost), 0) AS s FROM usage WHERE user_id = ?', userId)[0].s
  expect(user.spend).toBeCloseTo(usageSum / 1e6, 9)
  return user
}

describe('budgets under concurrency', () => {
  test('300 simultaneous requests against a budget for exactly 7: 7 succeed, 293 get 402, nothing overshoots', async () => {
    mock.options = { ...mock.options, completionText: longText, latencyMs: 30 }
    const gw = await startTestGateway({ mock, config: { pricing: PRICING } })
    try {
      const k = 7
      const { secret } = await gw.userWithKey({ id: 'tight', max_budget: k * HOLD_USD })
      const responses = await Promise.all(Array.from({ length: 300 }, () => chat(gw.url, secret)))
      const statuses = responses.map((r) => r.status)
      expect(statuses.filter((s) => s === 200).length).toBe(k)
      expect(statuses.filter((s) => s === 402).length).toBe(300 - k)
      const refusal = (await responses.find((r) => r.status === 402)!.json()) as { error: { code: string; message: string } }
      expect(refusal.error.code).toBe('budget_exceeded')
      expect(refusal.error.message).toContain('remaining')
      // No refused request reached the provider.
      expect(mock.calls.filter((c) => c.path === '/v1/chat/completions').length).toBe(k)
      const user = await expectLedgerClean(gw, 'tight', k * HOLD_USD)
      expect(user.spend).toBeCloseTo(k * HOLD_USD, 9)
    } finally {
      await gw.stop()
    }
  })

  test('two gateway processes sharing one database file never reserve past the budget together', async () => {
    const dir = tempDir()
    const dbPath = join(dir, 'shared.db')
    const config = { pricing: PRICING }
    const a = await spawnGateway({ mock, config, dbPath })
    const b = await spawnGateway({ mock, config, dbPath })
    try {
      const k = 11
      const { secret } = await a.userWithKey({ id: 'shared', max_budget: k * HOLD_USD })
      const responses = await Promise.all(
        Array.from({ length: 300 }, (_, i) => chat(i % 2 ? a.url : b.url, secret).then((r) => r.status)),
      )
      expect(responses.filter((s) => s === 200).length).toBe(k)
      expect(responses.filter((s) => s === 402).length).toBe(300 - k)
      await b.settled()
      const user = await expectLedgerClean(a, 'shared', k * HOLD_USD)
      expect(user.spend).toBeCloseTo(k * HOLD_USD, 9)
    } finally {
      await Promise.all([a.stop(), b.stop()])
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('kill -9 with requests in flight: after restart the sweeper settles every hold, reserved returns to 0', async () => {
    const dir = tempDir()
    const dbPath = join(dir, 'crash.db')
    mock.behavior = 'hang'
    const config = { pricing: PRICING }
    // Each hold carries its own expiry, stamped at reserve time: a 1 s TTL for the test. The first process
    // would sweep only at its next minute, long after it is killed.
    const env = { TOLLGATE_RESERVATION_TTL_SEC: '1' }
    const first = await spawnGateway({ mock, config, dbPath, env })
    const { secret } = await first.userWithKey({ id: 'crashy', max_budget: 1 })
    const inFlight = Array.from({ length: 20 }, () => chat(first.url, secret).catch(() => null))
    // Wait until every request holds its reservation and is waiting on the provider (4 s was too short for a loaded
    // engines run on Postgres: 9 of 20 by then).
    await waitFor(20_000, () => Number(first.query('SELECT count(*) AS n FROM reservations')[0].n) === 20)
    expect(Number(first.query('SELECT count(*) AS n FROM reservations')[0].n)).toBe(20)
    const held = first.query('SELECT sum(amount) AS s FROM reservations')[0].s as number

    first.proc.kill('SIGKILL')
    await first.proc.exited
    await first.stop() // nothing left to stop: this removes its config folder
    await Promise.all(inFlight)
    mock.behavior = 'ok'

    // The holds outlive the process; once expired, a restarted gateway sweeps them at startup.
    await Bun.sleep(1100)
    const second = await spawnGateway({ mock, config, dbPath, env })
    try {
      // The startup sweep runs beside the server (on Postgres it is still in flight when the port opens).
      await waitFor(10_000, () => Number(second.query('SELECT count(*) AS n FROM reservations')[0].n) === 0)
      await second.settled()
      expect(Number(second.query('SELECT count(*) AS n FROM reservations')[0].n)).toBe(0)
      const rows = second.query('SELECT status, cost, reserved FROM usage')
      expect(rows.length).toBe(20)
      for (const r of rows) {
        expect(r.status).toBe('expired')
        expect(r.cost).toBe(r.reserved)
      }
      const user = (await second.admin('GET', '/v1/users/crashy')).body
      expect(user.reserved).toBe(0)
      expect(user.spend).toBeCloseTo(held / 1e6, 9)
      expect(second.output()).toContain('sweeper settled 20 expired hold(s)')
    } finally {
      await second.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('what a request costs when things go wrong', () => {
  let gw: TestGateway
  let secret: string
  beforeAll(async () => {
    gw = await startTestGateway({ mock, config: { pricing: { ...PRICING, 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } } })
    secret = (await gw.userWithKey({ id: 'faults', max_budget: 5 })).secret
  })
  afterAll(() => gw.stop())

  const spend = async () => {
    await gw.settled()
    return (await gw.admin('GET', '/v1/users/faults')).body as { spend: number; reserved: number }
  }

  test('an unpriced model is refused with 402 before any hold and before the provider hears of it', async () => {
    const before = mock.calls.length
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:no-price', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(402)
    expect(((await res.json()) as any).error.code).toBe('pricing_required')
    expect(mock.calls.length).toBe(before)
    expect(gw.query("SELECT count(*) AS n FROM usage WHERE model = 'mock:no-price'")[0].n).toBe(0)
  })

  test('upstream 500: 502 to the client, the hold released, no charge', async () => {
    const before = await spend()
    mock.queue('fail-500')
    const res = await chat(gw.url, secret)
    expect(res.status).toBe(502)
    const body = (await res.json()) as any
    expect(body.error.code).toBe('upstream_error')
    expect(JSON.stringify(body)).not.toContain('sk-upstream-secret')
    const after = await spend()
    expect(after.spend).toBe(before.spend)
    expect(after.reserved).toBe(0)
    const row = gw.query("SELECT status, cost FROM usage ORDER BY id DESC LIMIT 1")[0]
    expect(row).toEqual({ status: 'error', cost: 0 })
  })

  test('a stream cut by the client aborts the upstream call and charges what was generated: > 0 and ≤ the hold', async () => {
    mock.options = { ...mock.options, chunks: 40, chunkDelayMs: 25 }
    const before = await spend()
    const abortsBefore = mock.aborts
    const controller = new AbortController()
    const res = await chat(gw.url, secret, { stream: true, model: 'mock:gpt-mock', max_tokens: 1000 }).then(async (r) => r)
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let events = 0
    while (events < 3) {
      const { value } = await reader.read()
      events += new TextDecoder().decode(value).split('\n\n').filter((e) => e.startsWith('data:')).length
    }
    await reader.cancel()
    controller.abort()
    for (let i = 0; i < 100 && mock.aborts === abortsBefore; i++) await Bun.sleep(10)
    expect(mock.aborts).toBe(abortsBefore + 1)

    await Bun.sleep(20)
    const after = await spend()
    const row = gw.query('SELECT status, cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]
    expect(row.status).toBe('aborted')
    expect(row.cost).toBeGreaterThan(0)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(after.spend - before.spend).toBeCloseTo(row.cost / 1e6, 9)
    expect(after.reserved).toBe(0)
  })

  test('a stream that ends without usage is charged its estimate', async () => {
    mock.options = { ...mock.options, chunks: 3, chunkDelayMs: 0 }
    mock.queue('no-usage')
    const res = await chat(gw.url, secret, { stream: true })
    expect(res.status).toBe(200)
    await res.text()
    await gw.settled()
    const row = gw.query('SELECT status, cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]
    expect(row.status).toBe('ok')
    expect(row.cost).toBe(row.reserved)
  })

  test('the remaining budget after the hold is in X-Budget-Remaining', async () => {
    const before = await spend()
    const res = await chat(gw.url, secret)
    expect(res.status).toBe(200)
    const header = Number(res.headers.get('x-budget-remaining'))
    expect(header).toBeCloseTo(5 - before.spend - HOLD_USD, 6)
  })
})

describe('a key given its first ceiling while requests are in flight', () => {
  test('the request already in flight counts against the new ceiling at once, and is credited back when it settles', async () => {
    mock.options = { ...mock.options, completionText: longText, latencyMs: 0, chunks: 10, chunkDelayMs: 40 }
    const gw = await startTestGateway({ mock, config: { pricing: PRICING } })
    try {
      const { secret, keyId } = await gw.userWithKey({ id: 'ceiling-later' })
      const first = await chat(gw.url, secret, { stream: true })
      expect(first.status).toBe(200)
      const reader = first.body!.getReader()
      await reader.read() // the stream is under way: its hold is open

      const patched = await gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: 1.5 * HOLD_USD })
      expect(patched.status).toBe(200)
      expect(patched.body.reserved).toBeCloseTo(HOLD_USD, 9)
      // 1 hold in flight + 1 more would pass 1.5 holds: refused, though the key carried nothing before.
      const second = await chat(gw.url, secret)
      expect(second.status).toBe(402)
      expect(((await second.json()) as any).error.message).toContain('Budget exceeded for this key')

      while (!(await reader.read()).done);
      await gw.settled()
      const key = (await gw.admin('GET', `/v1/keys/${keyId}`)).body
      expect(key.reserved).toBe(0)
      expect(key.spend).toBeCloseTo(HOLD_USD, 9)
    } finally {
      await gw.stop()
    }
  })
})

/**
 * What replicas on one Postgres share beyond the ledger (issue 14): TOLLGATE_WORKERS=N processes on one port
 * holding one budget exactly; budget alerts raised once and delivered once whichever replicas see the
 * crossing; console sessions made on one replica good on the others; refusal counts added up in one row.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway, MASTER_KEY } from '../support/gateway'
import { freePort } from '../support/free-port'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver'
import { startPostgres, type TestPostgres } from './support/postgres'
import { waitFor } from '../support/wait-for'
import { HOLD_USD, longText, MAX_TOKENS, PRICING } from '../support/exact-model'

const WEBHOOK_SECRET = 'whsec-test-0123456789abcdef'

const chat = (url: string, key: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mock:exact', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: 'go' }] }),
  })

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

const upstreamCalls = () => mock.calls.filter((c) => c.path === '/v1/chat/completions').length

test('TOLLGATE_WORKERS=3 on Postgres: a burst sized for k, spread over the workers by the kernel, serves exactly k', async () => {
  mock.reset()
  const url = await pg.database(`workers_${++n}`)
  const port = freePort()
  const group = await spawnGateway({
    mock,
    config: { pricing: PRICING },
    env: { TOLLGATE_WORKERS: '3', TOLLGATE_PORT: String(port), TOLLGATE_HOST: '127.0.0.1', TOLLGATE_DATABASE_URL: url },
  })
  const sql = new Bun.SQL(url)
  try {
    expect(group.output()).toContain('3 workers sharing the port')
    const k = 11
    const { secret } = await group.userWithKey({ id: 'burst', max_budget: k * HOLD_USD })
    // A connection each, so that the kernel hands every request to a worker of its choosing.
    const statuses = await Promise.all(Array.from({ length: 150 }, () => chat(group.url, secret, { connection: 'close' }).then((r) => r.status)))
    expect(statuses.filter((s) => s === 200).length).toBe(k)
    expect(statuses.filter((s) => s === 402).length).toBe(150 - k)
    expect(upstreamCalls()).toBe(k)
    // Every worker's settlements written: each answers an admin read after flushing its own (a few reads reach each).
    expect(
      await waitFor(10_000, async () => Number((await sql`SELECT count(*) AS n FROM usage WHERE user_id = 'burst'`)[0].n) === k),
    ).toBe(true)
    const [user] = await sql`SELECT spend, reserved FROM users WHERE id = 'burst'`
    expect({ spend: Number(user.spend), reserved: Number(user.reserved) }).toEqual({ spend: k * MAX_TOKENS, reserved: 0 })
    expect(Number((await sql`SELECT count(*) AS n FROM reservations`)[0].n)).toBe(0)
  } finally {
    await group.stop()
    await sql.close()
  }
}, 90_000)

describe('three replicas on one Postgres with alerts and the console', () => {
  let receiver: WebhookReceiver
  let replicas: SpawnedGateway[]
  let sql: InstanceType<typeof Bun.SQL>

  beforeAll(async () => {
    receiver = startWebhookReceiver()
    const url = await pg.database(`shared_${++n}`)
    const config = {
      pricing: PRICING,
      trust_proxy: true,
      alerts: { webhooks: { ops: { url: receiver.url, secret: WEBHOOK_SECRET } }, thresholds: [50], check_interval_ms: 50, retry_base_ms: 50, delivery_timeout_ms: 1_000 },
    }
    const env = { TOLLGATE_DATABASE_URL: url }
    const first = await spawnGateway({ mock, config, env })
    replicas = [first, ...(await Promise.all([spawnGateway({ mock, config, env }), spawnGateway({ mock, config, env })]))]
    sql = new Bun.SQL(url)
  }, 60_000)

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.stop()))
    await sql?.close()
    receiver?.stop()
  })

  test('one threshold crossing seen by every replica: one alert, delivered once, with its idempotency id', async () => {
    const { secret } = await replicas[0]!.userWithKey({ id: 'crossing', max_budget: 4 * HOLD_USD })
    // Three requests through three replicas: 75% of the budget, past the 50% threshold.
    for (let i = 0; i < 3; i++) expect((await chat(replicas[i]!.url, secret)).status).toBe(200)
    const [d] = await receiver.waitFor(1)
    // Every replica checks every 50 ms and sees the crossing: long enough for a second alert or delivery to show.
    await Bun.sleep(1_000)
    const forUser = receiver.deliveries.filter((x) => x.payload.kind === 'budget_threshold' && x.payload.data.user_id === 'crossing')
    expect(forUser).toHaveLength(1)
    expect(d!.idempotencyKey).toBe(d!.payload.id)
    expect(Number((await sql`SELECT count(*) AS n FROM alerts WHERE subject = 'crossing'`)[0].n)).toBe(1)
    const [delivery] = await sql`SELECT d.status, d.attempts FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.subject = 'crossing'`
    expect({ status: delivery.status, attempts: Number(delivery.attempts) }).toEqual({ status: 'delivered', attempts: 1 })
    // Every replica lists it, delivered.
    for (const r of replicas) {
      const listed = (await r.admin('GET', '/v1/alerts?kind=budget_threshold')).body.data.filter((a: any) => a.subject === 'crossing')
      expect(listed.map((a: any) => a.deliveries.map((x: any) => x.status))).toEqual([['delivered']])
    }
  }, 30_000)

  test('a console session made through replica A works on B; signing out on B ends it on A', async () => {
    const [a, b] = [replicas[0]!, replicas[1]!]
    const signIn = await fetch(`${a.url}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: a.url },
      body: JSON.stringify({ key: MASTER_KEY }),
    })
    expect(signIn.status).toBe(200)
    const cookie = signIn.headers.get('set-cookie')!.split(';', 1)[0]!
    const csrf = ((await signIn.json()) as any).csrf_token
    const users = (url: string) => fetch(`${url}/v1/users`, { headers: { cookie } }).then((r) => r.status)
    expect(await users(a.url)).toBe(200)
    expect(await users(b.url)).toBe(200)
    const out = await fetch(`${b.url}/v1/session`, { method: 'DELETE', headers: { cookie, origin: b.url, 'x-csrf-token': csrf } })
    expect(out.status).toBe(200)
    for (const r of replicas) expect(await users(r.url)).toBe(401)
  })

  test('refusals before a key counted by every replica add up in one row per source and interval', async () => {
    const knock = (url: string) => fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer tg-nope', 'x-forwarded-for': '198.51.100.7' } })
    const statuses = await Promise.all(Array.from({ length: 60 }, (_, i) => knock(replicas[i % 3]!.url).then((r) => r.status)))
    expect(statuses).toEqual(Array(60).fill(401))
    // Each replica writes its counts on its audit read (and within a second on its own).
    for (const r of replicas) await r.admin('GET', '/v1/audit?limit=1')
    const rows = await sql`SELECT count FROM api_request_log WHERE client_ip = '198.51.100.7' AND status = 401`
    const minutes = rows.length
    // One row per interval (a minute boundary may fall inside the burst), the counts adding up to every request.
    expect(minutes).toBeGreaterThanOrEqual(1)
    expect(minutes).toBeLessThanOrEqual(2)
    expect(rows.reduce((s: number, r: any) => s + Number(r.count), 0)).toBe(60)
  })
})

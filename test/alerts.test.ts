/**
 * Budget alerts and events (issue 17): raised once each into a durable outbox, delivered at least once
 * to a real webhook receiver, signed, retried with backoff, and not lost to a kill -9.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { verifySignature } from '../src/alerts/signature'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { writeBeforeStart } from './support/test-store'
import { spawnGateway, startTestGateway, tempDir, type TestGateway } from './support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'
import { waitFor } from './support/wait-for'

const SECRET = 'webhook-secret-0123456789abcdef'

let mock: MockProvider
let receiver: WebhookReceiver
let gw: TestGateway | undefined

beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})
afterEach(async () => {
  await gw?.stop()
  gw = undefined
  receiver?.stop()
})

const alertConfig = (extra: Record<string, unknown> = {}) => ({
  alerts: { webhooks: { ops: { url: receiver.url, secret: SECRET } }, check_interval_ms: 50, retry_base_ms: 50, delivery_timeout_ms: 1_000, ...extra },
})

const chat = (url: string, secret: string, model = 'mock:gpt-mock') =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hello there' }] }),
  })

/** What one such request costs: the tests size budgets in multiples of it. */
async function costOfOne(g: TestGateway): Promise<number> {
  const probe = await g.userWithKey({ id: 'probe' })
  await chat(g.url, probe.secret)
  await g.settled()
  const cost = (await g.admin('GET', '/v1/users/probe')).body.spend
  expect(cost).toBeGreaterThan(0)
  return cost
}

describe('budget thresholds', () => {
  test('crossed under concurrent load, each threshold fires exactly once, signed, with its idempotency id', async () => {
    receiver = startWebhookReceiver()
    gw = await startTestGateway({ mock, config: alertConfig({ thresholds: [25, 50, 75] }) })
    const cost = await costOfOne(gw)
    const { secret } = await gw.userWithKey({ id: 'team-a', max_budget: cost * 40 })
    // Waves of concurrent requests until a whole wave is refused: the budget is then nearly spent.
    for (let refusedAll = false; !refusedAll; ) {
      const statuses = await Promise.all(Array.from({ length: 10 }, () => chat(gw!.url, secret).then((r) => r.status)))
      refusedAll = statuses.every((s) => s === 402)
      await gw.settled()
    }
    const user = (await gw.admin('GET', '/v1/users/team-a')).body
    expect(user.spend / user.max_budget).toBeGreaterThanOrEqual(0.75)

    await receiver.waitFor(3)
    await Bun.sleep(400) // several more checks: nothing is raised twice
    const budget = receiver.deliveries.filter((d) => d.payload.kind === 'budget_threshold')
    expect(budget.map((d) => d.payload.data.threshold_percent).sort((a, b) => a - b)).toEqual([25, 50, 75])
    expect(new Set(budget.map((d) => d.id)).size).toBe(3)
    for (const d of budget) {
      // A user without a period: its spend counts from the start, and no period start is shown (as GET /v1/users says).
      expect(d.payload.data).toMatchObject({ scope: 'user', user_id: 'team-a', budget_period: 'lifetime', period_start: null })
      expect(d.payload.text).toContain('team-a')
      expect(d.idempotencyKey).toBe(d.id)
      expect(d.payload.id).toBe(d.id)
      expect(verifySignature(SECRET, d.timestamp, d.body, d.signature)).toBe(true)
    }

    const listed = (await gw.admin('GET', '/v1/alerts?kind=budget_threshold')).body.data
    expect(listed).toHaveLength(3)
    expect(listed.every((a: any) => a.deliveries[0].status === 'delivered' && a.deliveries[0].attempts === 1)).toBe(true)
  })

  test("a key's ceiling has thresholds too", async () => {
    receiver = startWebhookReceiver()
    gw = await startTestGateway({ mock, config: alertConfig({ thresholds: [1] }) })
    const cost = await costOfOne(gw)
    const { secret, keyId } = await gw.userWithKey({ id: 'team-k' }, { max_budget: cost * 50 })
    await chat(gw.url, secret)
    const [d] = await receiver.waitFor(1)
    expect(d!.payload.data).toMatchObject({ scope: 'key', key_id: keyId, threshold_percent: 1 })
  })
})

describe('delivery', () => {
  test('a receiver that fails three times then succeeds gets the alert, same id every time, after backoff', async () => {
    receiver = startWebhookReceiver()
    receiver.script(500, 503, 429, 'ok')
    gw = await startTestGateway({ mock, config: alertConfig() })
    await gw.admin('POST', '/v1/users', { id: 'blockme' })
    await gw.admin('PATCH', '/v1/users/blockme', { blocked: true })
    const got = await receiver.waitFor(4)
    expect(got.map((d) => d.payload.kind)).toEqual(['user_blocked', 'user_blocked', 'user_blocked', 'user_blocked'])
    expect(new Set(got.map((d) => d.id)).size).toBe(1)
    // Backoff from retry_base_ms (50): at least 50, 100 and 200 ms between the attempts.
    const gaps = got.slice(1).map((d, i) => d.at - got[i]!.at)
    expect(gaps[0]).toBeGreaterThanOrEqual(45)
    expect(gaps[1]).toBeGreaterThanOrEqual(95)
    expect(gaps[2]).toBeGreaterThanOrEqual(195)
    await Bun.sleep(100)
    const [alert] = (await gw.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
    expect(alert.deliveries[0]).toMatchObject({ webhook: 'ops', status: 'delivered', attempts: 4, last_error: null })
  })

  test('after the last attempt a delivery is failed, counted in /metrics, and can be sent again', async () => {
    receiver = startWebhookReceiver()
    receiver.script(500, 500)
    gw = await startTestGateway({ mock, config: { ...alertConfig({ max_attempts: 2 }), metrics_enabled: true } })
    const { keyId } = await gw.userWithKey({ id: 'revokee' })
    await gw.admin('DELETE', `/v1/keys/${keyId}`)
    await receiver.waitFor(2)
    await Bun.sleep(100)
    const [alert] = (await gw.admin('GET', '/v1/alerts?status=failed')).body.data
    expect(alert).toMatchObject({ kind: 'key_revoked', subject: keyId })
    expect(alert.deliveries[0]).toMatchObject({ status: 'failed', attempts: 2, last_error: 'HTTP 500' })
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
    expect(metrics).toContain('tollgate_alerts_failed 1')
    expect(metrics).toContain('tollgate_alerts_pending 0')

    const again = await gw.admin('POST', `/v1/alerts/${alert.id}/redeliver`)
    expect(again.body).toEqual({ id: alert.id, redelivering: 1 })
    const third = (await receiver.waitFor(3))[2]!
    expect(third.id).toBe(alert.id)
  })

  test('kill -9 in the middle of a delivery: the restarted gateway delivers it, with the same id', async () => {
    receiver = startWebhookReceiver()
    receiver.script('hang')
    const dir = tempDir()
    const dbPath = join(dir, 'tollgate.db')
    const config = alertConfig({ delivery_timeout_ms: 300 })
    const first = await spawnGateway({ mock, dbPath, config })
    await first.admin('POST', '/v1/users', { id: 'crash' })
    await first.admin('PATCH', '/v1/users/crash', { blocked: true })
    const [hung] = await receiver.waitFor(1)
    first.proc.kill('SIGKILL')
    await first.proc.exited
    await first.stop()

    const second = await spawnGateway({ mock, dbPath, config })
    try {
      const again = (await receiver.waitFor(2))[1]!
      expect(again.id).toBe(hung!.id)
      expect(again.body).toBe(hung!.body)
      await Bun.sleep(100)
      const [alert] = (await second.admin('GET', '/v1/alerts')).body.data
      expect(alert.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 2 })
    } finally {
      await second.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)

  test('a bad signature is detectable: another body, another secret, or an old timestamp fail the check', async () => {
    receiver = startWebhookReceiver()
    gw = await startTestGateway({ mock, config: alertConfig() })
    await gw.admin('POST', '/v1/users', { id: 'sig' })
    await gw.admin('PATCH', '/v1/users/sig', { blocked: true })
    const [d] = await receiver.waitFor(1)
    expect(verifySignature(SECRET, d!.timestamp, d!.body, d!.signature)).toBe(true)
    expect(verifySignature(SECRET, d!.timestamp, d!.body.replace('sig', 'gis'), d!.signature)).toBe(false)
    expect(verifySignature('another-secret-0123456789', d!.timestamp, d!.body, d!.signature)).toBe(false)
    expect(verifySignature(SECRET, d!.timestamp, d!.body, d!.signature, d!.timestamp + 3600)).toBe(false)
    expect(d!.payload.text).toBe('tollgate: user sig was blocked')
  })
})

describe('events', () => {
  test('refusals of unpriced models are summed per model and interval, and bounded: no flood from made-up names', async () => {
    receiver = startWebhookReceiver()
    gw = await startTestGateway({ mock, config: alertConfig() })
    const { secret } = await gw.userWithKey({ id: 'prober' })
    for (let i = 0; i < 3; i++) expect((await chat(gw.url, secret, 'mock:gpt-unpriced')).status).toBe(402)
    await Promise.all(Array.from({ length: 200 }, (_, i) => chat(gw!.url, secret, `mock:made-up-${i}`)))
    // The checks (every 50 ms) raise the alerts and their deliveries go: until the made-up names' count is among
    // them and every alert raised has been delivered (a loaded machine may take more than one check for it).
    const listed = async () => (await gw!.admin('GET', '/v1/alerts?kind=unpriced_model&limit=1000')).body.data as any[]
    await waitFor(10_000, async () => {
      const raised = await listed()
      return raised.some((a) => a.data.other_refusals > 0) && receiver.deliveries.length === raised.length
    })
    const alerts = await listed()
    expect(alerts.length).toBeLessThanOrEqual(21)
    // One alert for the model, however many refusals: its count is those seen when a check raised it.
    const forModel = alerts.filter((a: any) => a.subject === 'mock:gpt-unpriced')
    expect(forModel).toHaveLength(1)
    expect(forModel[0].data.refusals).toBeGreaterThanOrEqual(1)
    expect(forModel[0].data.refusals).toBeLessThanOrEqual(3)
    expect(alerts.some((a: any) => a.data.other_refusals > 0)).toBe(true)
    expect(receiver.deliveries.length).toBe(alerts.length)
  })

  test('a model name a key holder chose cannot break the one-line alert text or post Slack mentions and links', async () => {
    receiver = startWebhookReceiver()
    gw = await startTestGateway({ mock, config: alertConfig() })
    const { secret } = await gw.userWithKey({ id: 'markup' })
    // A line break (any control character) makes no model at all: an unknown model, which raises nothing.
    expect((await chat(gw.url, secret, 'mock:x\n<!channel>')).status).toBe(404)
    const model = 'mock:x <!channel> your keys leaked, rotate them at <https://evil.example/login|the console> & now'
    expect((await chat(gw.url, secret, model)).status).toBe(402)
    const [d] = await receiver.waitFor(1)
    expect(d!.payload.kind).toBe('unpriced_model')
    expect(d!.payload.text).toBe(
      'tollgate: `mock:x &lt;!channel&gt; your keys leaked, rotate them at &lt;https://evil.example/login|the console&gt; &amp; now` ' +
        `was asked for and refused for lack of a price (1 time(s) since ${d!.payload.data.since}); price it to serve it`,
    )
    expect(d!.payload.data.model).toBe(model)
  })

  test('a key about to expire raises one alert', async () => {
    receiver = startWebhookReceiver()
    gw = await startTestGateway({ mock, config: alertConfig({ key_expiry_days: 3 }) })
    const soon = new Date(Date.now() + 86_400_000).toISOString()
    const later = new Date(Date.now() + 30 * 86_400_000).toISOString()
    const { keyId } = await gw.userWithKey({ id: 'expiring' }, { expires_at: soon, name: 'ci' })
    await gw.userWithKey({ id: 'not-yet' }, { expires_at: later })
    const [d] = await receiver.waitFor(1)
    await Bun.sleep(200)
    expect(receiver.deliveries).toHaveLength(1)
    expect(d!.payload).toMatchObject({ kind: 'key_expiring', data: { key_id: keyId, user_id: 'expiring', name: 'ci' } })
  })

  test('the sweeper charging expired holds (a crash left them) raises an alert', async () => {
    receiver = startWebhookReceiver()
    const dir = tempDir()
    const dbPath = join(dir, 'tollgate.db')
    const past = Date.now() - 3_600_000
    await writeBeforeStart(dbPath, [
      ["INSERT INTO users (id, max_budget, spend, reserved, period_start, created_at, updated_at) VALUES ('crashed', 1000000, 0, 500, 0, ?, ?)", [past, past]],
      [
        "INSERT INTO reservations (id, request_id, user_id, amount, model, provider, endpoint, created_at, expires_at) VALUES (7, 'r1', 'crashed', 500, 'mock:gpt-mock', 'mock', '/v1/chat/completions', ?, ?)",
        [past, past],
      ],
    ])
    const g = await spawnGateway({ mock, dbPath, config: alertConfig() })
    try {
      const [d] = await receiver.waitFor(1)
      expect(d!.payload).toMatchObject({ kind: 'holds_expired', data: { holds: 1 } })
    } finally {
      await g.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)

  test('with no webhook configured, alerts are still recorded and listed', async () => {
    gw = await startTestGateway({ mock, config: { alerts: { check_interval_ms: 50 } } })
    await gw.admin('POST', '/v1/users', { id: 'quiet' })
    await gw.admin('PATCH', '/v1/users/quiet', { blocked: true })
    const [alert] = (await gw.admin('GET', '/v1/alerts')).body.data
    expect(alert).toMatchObject({ kind: 'user_blocked', subject: 'quiet', deliveries: [] })
  })

  test('webhook URLs are configuration only: the config refuses a non-http URL and a short secret', async () => {
    const { configSchema } = await import('../src/config/schema')
    const bad = configSchema.safeParse({ master_key: 'test-master-key-0123456789abcdef-0123456789', alerts: { webhooks: { x: { url: 'file:///etc/passwd', secret: 'short' } } } })
    expect(bad.success).toBe(false)
    const paths = bad.error!.issues.map((i) => i.path.join('.'))
    expect(paths).toContain('alerts.webhooks.x.url')
    expect(paths).toContain('alerts.webhooks.x.secret')
  })
})

describe('/docs', () => {
  test('the alert and provider routes are documented from the schemas that validate them, and price rows take an effective time and a source', async () => {
    gw = await startTestGateway({ mock })
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
    const alertsList = doc.paths['/v1/alerts'].get
    expect(alertsList.tags).toEqual(['alerts'])
    expect(alertsList.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(['kind', 'status', 'limit', 'cursor']))
    expect(doc.paths['/v1/alerts/{id}/redeliver'].post.tags).toEqual(['alerts'])
    expect(doc.paths['/v1/providers'].get.tags).toEqual(['providers'])
    const priceBody = doc.paths['/v1/pricing'].post.requestBody.content['application/json'].schema
    expect(Object.keys(priceBody.properties)).toEqual(expect.arrayContaining(['effective_from', 'source']))
  })
})

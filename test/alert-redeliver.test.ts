/**
 * Mutation guards: `POST /v1/alerts/{id}/redeliver` sends an alert again "to every webhook whose
 * delivery failed for good" (its /docs summary), not to one that has it; a delivery live at its receiver is not
 * taken over by another claim while it runs (README: "An attempt claims its row with a lease (twice the delivery
 * timeout)"); and a user blocked, unblocked and blocked again is two events, two alerts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'
import { waitFor } from './support/wait-for'

const SECRET = 'webhook-secret-0123456789abcdef'

let mock: MockProvider
let receivers: WebhookReceiver[] = []
let gw: TestGateway | undefined
let extra: { stop(force?: boolean): unknown } | undefined

beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})
afterEach(async () => {
  await gw?.stop()
  gw = undefined
  for (const r of receivers) r.stop()
  receivers = []
  extra?.stop(true)
  extra = undefined
})

test('redelivering an alert sends it again to the webhook that failed only, not to the one that has it', async () => {
  const ops = startWebhookReceiver()
  const audit = startWebhookReceiver()
  receivers = [ops, audit]
  ops.script(500)
  gw = await startTestGateway({
    mock,
    config: {
      alerts: {
        webhooks: { ops: { url: ops.url, secret: SECRET }, audit: { url: audit.url, secret: SECRET } },
        check_interval_ms: 50,
        retry_base_ms: 50,
        max_attempts: 1,
        delivery_timeout_ms: 1_000,
      },
    },
  })
  await gw.admin('POST', '/v1/users', { id: 'twice' })
  await gw.admin('PATCH', '/v1/users/twice', { blocked: true })
  await ops.waitFor(1)
  await audit.waitFor(1)
  const listed = async () => (await gw!.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
  await waitFor(5_000, async () => (await listed())[0]?.deliveries.every((d: any) => d.status !== 'pending'))
  const [alert] = await listed()
  expect(alert.deliveries.map((d: any) => `${d.webhook}:${d.status}`).sort()).toEqual(['audit:delivered', 'ops:failed'])
  const again = await gw.admin('POST', `/v1/alerts/${alert.id}/redeliver`)
  expect(again.body).toEqual({ id: alert.id, redelivering: 1 })
  await ops.waitFor(2)
  await Bun.sleep(300)
  expect(audit.deliveries).toHaveLength(1)
  expect(ops.deliveries).toHaveLength(2)
})

test('a delivery whose receiver is slow (but within the timeout) is posted once, not again by another claim meanwhile', async () => {
  const hits: number[] = []
  const slow = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      await req.text()
      hits.push(Date.now())
      await Bun.sleep(800)
      return new Response(null, { status: 204 })
    },
  })
  extra = slow
  gw = await startTestGateway({
    mock,
    config: { alerts: { webhooks: { ops: { url: `http://127.0.0.1:${slow.port}/hook`, secret: SECRET } }, check_interval_ms: 50, retry_base_ms: 50, delivery_timeout_ms: 1_000 } },
  })
  await gw.admin('POST', '/v1/users', { id: 'slow' })
  await gw.admin('PATCH', '/v1/users/slow', { blocked: true })
  const deadline = Date.now() + 5_000
  while (hits.length === 0 && Date.now() < deadline) await Bun.sleep(20)
  // Until the one answer (800 ms on) is written: a second claim would have come within the attempt's lease.
  const listed = async () => (await gw!.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
  await waitFor(5_000, async () => (await listed())[0]?.deliveries[0]?.status !== 'pending')
  await Bun.sleep(200)
  expect(hits).toHaveLength(1)
  const [alert] = await listed()
  expect(alert.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 1 })
})

describe('events', () => {
  test('a user blocked, unblocked and blocked again raises two alerts', async () => {
    const r = startWebhookReceiver()
    receivers = [r]
    gw = await startTestGateway({ mock, config: { alerts: { webhooks: { ops: { url: r.url, secret: SECRET } }, check_interval_ms: 50, retry_base_ms: 50 } } })
    await gw.admin('POST', '/v1/users', { id: 'flip' })
    expect((await gw.admin('PATCH', '/v1/users/flip', { blocked: true })).status).toBe(200)
    await Bun.sleep(5)
    expect((await gw.admin('PATCH', '/v1/users/flip', { blocked: false })).status).toBe(200)
    await Bun.sleep(5)
    expect((await gw.admin('PATCH', '/v1/users/flip', { blocked: true })).status).toBe(200)
    // One delivery per alert; with the second block silenced only one ever comes.
    await r.waitFor(2, 2_000).catch(() => {})
    const listed = (await gw.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
    expect(listed).toHaveLength(2)
  })
})

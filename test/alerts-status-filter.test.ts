/**
 * `GET /v1/alerts?status=` lists the alerts whose delivery is in that state (the route's schema: pending, delivered,
 * failed): what an operator reads to find the alerts no webhook got, and redeliver them. A status filter dropped on
 * its way to the records query answers every alert as "failed": the operator redelivers what was delivered (a second
 * page to whoever is on call) and cannot tell what was lost. The existing test has only failed alerts to list.
 * The `kind` filter likewise: the existing tests read it on gateways that raised one kind only.
 * Kills: alerts.ts `status: query.status` → `status: undefined`; `kind: query.kind` → `kind: undefined`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'

let mock: MockProvider
let receiver: WebhookReceiver
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  receiver = startWebhookReceiver()
  gw = await startTestGateway({
    mock,
    config: { alerts: { webhooks: { ops: { url: receiver.url, secret: 'webhook-secret-0123456789abcdef' } }, check_interval_ms: 50, retry_base_ms: 50, delivery_timeout_ms: 1_000, max_attempts: 1 } },
  })
})
afterAll(async () => {
  await gw?.stop()
  receiver?.stop()
  await mock?.stop()
})

test('?status=failed lists the alert no webhook got, ?status=delivered the one it got, each alone', async () => {
  receiver.script(500)
  const lost = await gw.userWithKey({ id: 'lost-alert' })
  await gw.admin('DELETE', `/v1/keys/${lost.keyId}`)
  await receiver.waitFor(1)
  const got = await gw.userWithKey({ id: 'got-alert' })
  await gw.admin('DELETE', `/v1/keys/${got.keyId}`)
  await receiver.waitFor(2)
  // Both deliveries written: one failed for good (max_attempts 1), one delivered.
  for (let i = 0; i < 100; i++) {
    const all = (await gw.admin('GET', '/v1/alerts?kind=key_revoked')).body.data
    if (all.length === 2 && all.every((a: any) => a.deliveries[0]?.status !== 'pending')) break
    await Bun.sleep(50)
  }
  const subjects = async (status: string) => (await gw.admin('GET', `/v1/alerts?status=${status}`)).body.data.map((a: any) => a.subject)
  expect({ failed: await subjects('failed'), delivered: await subjects('delivered'), pending: await subjects('pending') }).toEqual({
    failed: [lost.keyId],
    delivered: [got.keyId],
    pending: [],
  })
})

test('?kind= lists that kind alone', async () => {
  await gw.admin('POST', '/v1/users', { id: 'blocked-alert' })
  await gw.admin('PATCH', '/v1/users/blocked-alert', { blocked: true })
  await receiver.waitFor(3)
  const kinds = async (kind: string) => (await gw.admin('GET', `/v1/alerts?kind=${kind}`)).body.data.map((a: any) => `${a.kind} ${a.subject}`).sort()
  expect({ blocked: await kinds('user_blocked'), revoked: (await kinds('key_revoked')).length, expiring: await kinds('key_expiring') }).toEqual({
    blocked: ['user_blocked blocked-alert'],
    revoked: 2,
    expiring: [],
  })
})

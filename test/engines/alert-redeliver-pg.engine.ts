/**
 * Mutation guard on the Postgres store's outbox (src/store/postgres/alert-rows.ts): with two
 * webhooks, one that has the alert and one whose delivery failed for good, each delivery row keeps its own
 * state (a success marks its own webhook's row only), and `POST /v1/alerts/{id}/redeliver` starts over the
 * failed one only: the webhook that has the alert is not sent it again.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startWebhookReceiver } from '../support/webhook-receiver'
import { startPostgres, type TestPostgres } from './support/postgres'

const SECRET = 'webhook-secret-0123456789abcdef'
let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  await mock?.stop()
  await pg?.destroy()
})

test('Postgres: each webhook keeps its own delivery state, and redeliver resends to the failed webhook only', async () => {
  const ops = startWebhookReceiver()
  const audit = startWebhookReceiver()
  ops.script(500)
  let gw: TestGateway | undefined
  try {
    gw = await startTestGateway({
      mock,
      config: {
        database_url: await pg.database('alert_redeliver_pg'),
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
    await Bun.sleep(300)
    const [alert] = (await gw.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
    expect(alert.deliveries.map((d: any) => `${d.webhook}:${d.status}`).sort()).toEqual(['audit:delivered', 'ops:failed'])
    const again = await gw.admin('POST', `/v1/alerts/${alert.id}/redeliver`)
    expect(again.body).toEqual({ id: alert.id, redelivering: 1 })
    await ops.waitFor(2)
    await Bun.sleep(300)
    expect(audit.deliveries).toHaveLength(1)
    expect(ops.deliveries).toHaveLength(2)
  } finally {
    await gw?.stop()
    ops.stop()
    audit.stop()
  }
}, 60_000)

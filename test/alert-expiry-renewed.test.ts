/**
 * Mutation guard: a key's expiry warning is once per key *and expiry* (README: the unique key
 * `key_expiring:<id>:<expiry>`). An operator who extends a key about to expire must be warned again when the new
 * expiry comes near; with the expiry left out of the key the second warning never comes and the key's holder
 * finds out by being refused.
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'

const SECRET = 'webhook-secret-0123456789abcdef'
const DAY = 86_400_000
let mock: MockProvider
let receiver: WebhookReceiver | undefined
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

test('a key extended while still within the warning window is warned about again for its new expiry', async () => {
  receiver = startWebhookReceiver()
  gw = await startTestGateway({
    mock,
    config: { alerts: { webhooks: { ops: { url: receiver.url, secret: SECRET } }, key_expiry_days: 7, check_interval_ms: 50, retry_base_ms: 50 } },
  })
  const first = new Date(Date.now() + DAY).toISOString()
  const { keyId } = await gw.userWithKey({ id: 'renewed' }, { expires_at: first })
  await receiver.waitFor(1)
  const second = new Date(Date.now() + 3 * DAY).toISOString()
  expect((await gw.admin('PATCH', `/v1/keys/${keyId}`, { expires_at: second })).status).toBe(200)
  await receiver.waitFor(2, 2_000).catch(() => {})
  const warned = receiver.deliveries.filter((d) => d.payload.kind === 'key_expiring').map((d) => d.payload.data.expires_at)
  expect(warned).toEqual([first, second])
})

/**
 * A deleted user's lifetime-budget alerts outlived it and silenced the next user given its id.
 *
 * The id of a deleted user goes to a new user once its usage rows are gone (README, "Deleting a user keeps its
 * usage rows under its id, so the id is not given to a new user while they remain"; tollgate keeps them, an
 * operator may delete them). A lifetime budget's threshold alerts were keyed `budget:user:<id>:0:<budget>:<t>`
 * (the start of a lifetime "period" is 0, and a budget as created had no `budget_set_at`), are never pruned
 * (dedupe_until null) and are not deleted with the user. So the new user, on the same standard budget, crossed
 * its thresholds with no alert at all: README "Budget alerts": a threshold "fires once per budget period and budget".
 * A budget as created is now set at the user's creation (`<budget>@<created_at>` in the key).
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'

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

const chat = (url: string, secret: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hello there' }] }),
  })

const bobAlerts = () => receiver.deliveries.filter((d) => d.payload.kind === 'budget_threshold' && d.payload.data.user_id === 'bob')

test('a new user given a deleted user id is alerted when it crosses its own budget threshold', async () => {
  receiver = startWebhookReceiver()
  gw = await startTestGateway({
    mock,
    config: { alerts: { webhooks: { ops: { url: receiver.url, secret: SECRET } }, thresholds: [2], check_interval_ms: 50, retry_base_ms: 50, delivery_timeout_ms: 1_000 } },
  })
  // What one request costs.
  const probe = await gw.userWithKey({ id: 'probe' })
  expect((await chat(gw.url, probe.secret)).status).toBe(200)
  await gw.settled()
  const cost = (await gw.admin('GET', '/v1/users/probe')).body.spend
  expect(cost).toBeGreaterThan(0)
  const budget = Math.round(cost * 40 * 1e6) / 1e6 // one request is 2.5 %, past the 2 % threshold

  // The first bob crosses 2 % of its lifetime budget: alerted.
  const first = await gw.userWithKey({ id: 'bob', max_budget: budget })
  expect((await chat(gw.url, first.secret)).status).toBe(200)
  await gw.settled()
  for (let i = 0; i < 60 && bobAlerts().length < 1; i++) await Bun.sleep(50)
  expect(bobAlerts()).toHaveLength(1)

  // bob is deleted; later an operator deletes its usage rows (an archive, an erasure request).
  expect((await gw.admin('DELETE', '/v1/users/bob')).status).toBe(200)
  gw.exec(`DELETE FROM usage WHERE user_id = 'bob'`)

  // A new user gets the id, on the same standard budget, and crosses 2 % of it.
  const second = await gw.userWithKey({ id: 'bob', max_budget: budget })
  expect((await gw.admin('GET', '/v1/users/bob')).body.spend).toBe(0)
  expect((await chat(gw.url, second.secret)).status).toBe(200)
  await gw.settled()
  expect((await gw.admin('GET', '/v1/users/bob')).body.spend / budget).toBeGreaterThanOrEqual(0.02)

  await Bun.sleep(1_000) // some 20 checks
  expect(bobAlerts()).toHaveLength(2)
})

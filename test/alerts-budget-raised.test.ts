/**
 * A user's budget thresholds fire once per period and budget, as a key's fire once per ceiling: raised
 * mid-period, the budget arms them again, so a threshold crossed under the old budget fires anew when spend
 * crosses it under the new one.
 */
import { expect, test } from 'bun:test'
import { withAlertingGateway } from './support/alerting-gateway'
import type { TestGateway } from './support/gateway'
import { mockChat } from './support/mock-chat'
import type { WebhookReceiver } from './support/webhook-receiver'

let receiver: WebhookReceiver
let gw: TestGateway
withAlertingGateway((s) => ({ gw, receiver } = s))

const chat = (secret: string) => mockChat(gw.url, secret, { max_tokens: 5, messages: [{ role: 'user', content: 'hello there' }] }).then((r) => r.text())

test("a user's budget raised mid-period arms its thresholds again, as a key's new ceiling does", async () => {
  const probe = await gw.userWithKey({ id: 'probe' })
  await chat(probe.secret)
  await gw.settled()
  const cost = (await gw.admin('GET', '/v1/users/probe')).body.spend as number

  const { secret } = await gw.userWithKey({ id: 'team', max_budget: Math.round(cost * 20 * 1e6) / 1e6, budget_period: 'monthly' })
  // Each settled before the next: a settlement still lingering in the write queue keeps its hold counted,
  // and near the budget's edge that would refuse the next request (README, "How money is handled": 5 ms).
  for (let i = 0; i < 12; i++) await chat(secret).then(() => gw.settled())
  const [first] = await receiver.waitFor(1)
  expect(first!.payload.data).toMatchObject({ scope: 'user', user_id: 'team', threshold_percent: 50 })

  // The operator grants ten times the budget; the user goes on to spend half of the new one.
  expect((await gw.admin('PATCH', '/v1/users/team', { max_budget: Math.round(cost * 200 * 1e6) / 1e6 })).status).toBe(200)
  for (let i = 0; i < 90; i++) await chat(secret).then(() => gw.settled())
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/team')).body
  expect(user.spend / user.max_budget).toBeGreaterThanOrEqual(0.5)

  await Bun.sleep(500) // ten checks
  const alerts = receiver.deliveries.filter((d) => d.payload.kind === 'budget_threshold' && d.payload.data.user_id === 'team')
  // One alert at 50% of the old budget, and one at 50% of the new one.
  expect(alerts.map((d) => d.payload.data.max_budget)).toEqual([Math.round(cost * 20 * 1e6) / 1e6, Math.round(cost * 200 * 1e6) / 1e6])
})

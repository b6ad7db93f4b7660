/**
 * README "Once each": a budget changed mid-period "arms every threshold again against the new amount". A user's
 * budget raised and then lowered back to the value it had leaves the user past the threshold again under the new
 * (lowered) budget, but the dedupe key `budget:user:<id>:<start>:<budget>:<t>` was the one the first crossing
 * wrote, so the outbox's unique key swallowed the second crossing: no alert. A key's ceiling likewise.
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

/** A budget twenty requests cover (`small`, crossed at 50 % after ten) and one two hundred do (`large`), in USD. */
async function budgets(): Promise<{ small: number; large: number }> {
  const probe = await gw.userWithKey({ id: 'probe' })
  await chat(probe.secret)
  await gw.settled()
  const cost = (await gw.admin('GET', '/v1/users/probe')).body.spend as number
  return { small: Math.round(cost * 20 * 1e6) / 1e6, large: Math.round(cost * 200 * 1e6) / 1e6 }
}
let amounts: Promise<{ small: number; large: number }> | undefined
const amountsOnce = () => (amounts ??= budgets())

const thresholdAlerts = (field: 'user_id' | 'key_id', id: string) =>
  receiver.deliveries.filter((d) => d.payload.kind === 'budget_threshold' && d.payload.data.scope === field.slice(0, -3) && d.payload.data[field] === id)

test('a budget raised and then lowered back arms its thresholds again (a second real crossing alerts)', async () => {
  const { small, large } = await amountsOnce()
  const { secret } = await gw.userWithKey({ id: 'team', max_budget: small, budget_period: 'monthly' })
  for (let i = 0; i < 12; i++) await chat(secret).then(() => gw.settled())
  for (const deadline = Date.now() + 10_000; thresholdAlerts('user_id', 'team').length < 1 && Date.now() < deadline; ) await Bun.sleep(20)
  expect(thresholdAlerts('user_id', 'team')[0]?.payload.data).toMatchObject({ scope: 'user', user_id: 'team', threshold_percent: 50, max_budget: small })

  // Raised: 12 of 200 is 6 %, below the threshold; the checks see nothing crossed for a while.
  expect((await gw.admin('PATCH', '/v1/users/team', { max_budget: large })).status).toBe(200)
  await Bun.sleep(400)
  // Lowered back: the user is past 50 % again, with more spent since the first alert.
  for (let i = 0; i < 2; i++) await chat(secret).then(() => gw.settled())
  expect((await gw.admin('PATCH', '/v1/users/team', { max_budget: small })).status).toBe(200)
  const user = (await gw.admin('GET', '/v1/users/team')).body
  expect(user.spend / user.max_budget).toBeGreaterThanOrEqual(0.5)

  await Bun.sleep(800) // sixteen checks
  // One alert per crossing: under the first $small budget, and again under the $small budget set after $large.
  expect(thresholdAlerts('user_id', 'team').length).toBe(2)
})

test("a key's ceiling raised and then lowered back arms its thresholds again", async () => {
  const { small, large } = await amountsOnce()
  const { secret, keyId } = await gw.userWithKey({ id: 'team-key' }, { max_budget: small })
  for (let i = 0; i < 12; i++) await chat(secret).then(() => gw.settled())
  for (const deadline = Date.now() + 10_000; thresholdAlerts('key_id', keyId).length < 1 && Date.now() < deadline; ) await Bun.sleep(20)
  expect(thresholdAlerts('key_id', keyId).length).toBe(1)

  expect((await gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: large })).status).toBe(200)
  await Bun.sleep(400)
  expect((await gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: small })).status).toBe(200)
  await Bun.sleep(800)
  expect(thresholdAlerts('key_id', keyId).length).toBe(2)
})

test('the same budget set again is no new budget: nothing is alerted again', async () => {
  const { small } = await amountsOnce()
  const { secret, keyId } = await gw.userWithKey({ id: 'team-same', max_budget: small, budget_period: 'monthly' }, { max_budget: small })
  for (let i = 0; i < 12; i++) await chat(secret).then(() => gw.settled())
  for (const deadline = Date.now() + 10_000; thresholdAlerts('key_id', keyId).length + thresholdAlerts('user_id', 'team-same').length < 2 && Date.now() < deadline; )
    await Bun.sleep(20)

  expect((await gw.admin('PATCH', '/v1/users/team-same', { max_budget: small })).status).toBe(200)
  expect((await gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: small })).status).toBe(200)
  await Bun.sleep(800)
  expect([thresholdAlerts('user_id', 'team-same').length, thresholdAlerts('key_id', keyId).length]).toEqual([1, 1])
})

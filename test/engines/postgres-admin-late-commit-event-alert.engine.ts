/**
 * The event alerts of admin changes (README "Kinds: … user_blocked, key_revoked") were raised after the change, on
 * the answered path only, in a transaction of their own. A revocation (or block) on Postgres whose COMMIT lands
 * after its 503 raised nothing; the admin, told 503, tries again as the message says: the retry finds the key
 * already revoked (the user already blocked) and raised nothing either. The event was lost for good, where SPEC
 * §12 asks alerts to be delivered at least once from a durable outbox. The alert is now written in the change's own
 * transaction: it lands when the change lands, and is delivered. The slow COMMIT is a deferred constraint trigger
 * sleeping at commit.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver'
import { startPostgres, type TestPostgres } from './support/postgres'
import { slowCommits } from './support/slow-commit'

let pg: TestPostgres
let mock: MockProvider
let receiver: WebhookReceiver
let gw: TestGateway
let db: SQL
let slow: Awaited<ReturnType<typeof slowCommits>>
const DEADLINE_MS = 600
const COMMIT_SECONDS = 2

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  receiver = startWebhookReceiver()
  const url = await pg.database('late_commit_event_alert')
  const alerts = { webhooks: { ops: { url: receiver.url, secret: 'webhook-secret-0123456789abcdef' } }, check_interval_ms: 60_000, retry_base_ms: 50 }
  gw = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: DEADLINE_MS, alerts } })
  db = new SQL(url)
  slow = await slowCommits(db, COMMIT_SECONDS)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await db?.close()
  receiver?.stop()
  mock?.stop()
  await pg?.destroy()
})

const alertsOf = async (kind: string, subject: string) =>
  (await gw.admin('GET', `/v1/alerts?kind=${kind}`)).body.data.filter((a: any) => a.subject === subject)

test('a revocation whose COMMIT lands after its 503, then retried by the admin: key_revoked is raised once, and delivered', async () => {
  await slow.on('api_keys', 'UPDATE', 'OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL')
  const { keyId } = await gw.userWithKey({ id: 'late-revoke' })
  expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(503)
  await slow.landed()
  const [row] = await db`SELECT revoked_at FROM api_keys WHERE id = ${keyId}`
  expect(row.revoked_at).not.toBeNull() // the revocation did commit
  expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200) // what a 503 asks for
  const alerts = await alertsOf('key_revoked', keyId)
  expect(alerts.length).toBe(1)
  const delivered = (await receiver.waitFor(1)).filter((d) => d.payload.kind === 'key_revoked')
  expect(delivered.map((d) => d.id)).toEqual([alerts[0].id])
}, 30_000)

test('a block whose COMMIT lands after its 503, then retried by the admin: user_blocked is raised once, and delivered', async () => {
  await slow.on('users', 'UPDATE', "NEW.id = 'late-block' AND NEW.blocked AND NOT OLD.blocked")
  expect((await gw.admin('POST', '/v1/users', { id: 'late-block' })).status).toBe(201)
  expect((await gw.admin('PATCH', '/v1/users/late-block', { blocked: true })).status).toBe(503)
  await slow.landed()
  expect((await db`SELECT blocked FROM users WHERE id = 'late-block'`)[0].blocked).toBe(true) // the block did commit
  expect((await gw.admin('PATCH', '/v1/users/late-block', { blocked: true })).status).toBe(200)
  const alerts = await alertsOf('user_blocked', 'late-block')
  expect(alerts.length).toBe(1)
  const delivered = (await receiver.waitFor(2)).filter((d) => d.payload.kind === 'user_blocked')
  expect(delivered.map((d) => d.id)).toEqual([alerts[0].id])
}, 30_000)

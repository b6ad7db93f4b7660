/**
 * The event alerts key_revoked and user_blocked were written after the change, in a transaction of their own: a
 * revocation (or block) that committed and whose alert then failed to be written (the database refusing it, or
 * gone in between) was answered 200 with no event, and a retry, finding the change made, raised none either. SPEC
 * §12 asks alerts to be delivered at least once from a durable outbox. The alert is written in the change's own
 * transaction: an alert that cannot be written undoes the change, and the admin's retry makes both. Runs on both
 * stores (test/engines/stores.engine.ts); a COMMIT landing after its 503 is test/engines/
 * postgres-admin-late-commit-event-alert.engine.ts.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { alerts: { check_interval_ms: 60_000 } } })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

/** Makes the database refuse every new alert, as the store runs on, until `allowAlerts`. */
function refuseAlerts() {
  if (gw.databaseUrl) {
    gw.exec(`CREATE OR REPLACE FUNCTION refuse_alert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'alerts refused'; END $$`)
    gw.exec('CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION refuse_alert()')
  } else gw.exec("CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'alerts refused'); END")
}
const allowAlerts = () => gw.exec(gw.databaseUrl ? 'DROP TRIGGER refuse_alerts ON alerts' : 'DROP TRIGGER refuse_alerts')

const alertsOf = async (kind: string, subject: string) =>
  (await gw.admin('GET', `/v1/alerts?kind=${kind}`)).body.data.filter((a: any) => a.subject === subject)

test('a revocation whose key_revoked alert cannot be written is not made; the retry makes both, once', async () => {
  const { keyId, secret } = await gw.userWithKey({ id: 'revoke-no-alert' })
  refuseAlerts()
  try {
    expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBeGreaterThanOrEqual(500)
  } finally {
    allowAlerts()
  }
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.revoked_at).toBeNull()
  expect((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)

  expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200) // the admin's retry
  expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200) // and once more: revoked already
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.revoked_at).not.toBeNull()
  expect((await alertsOf('key_revoked', keyId)).length).toBe(1)
})

test('a block whose user_blocked alert cannot be written is not made; the retry makes both, once', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'block-no-alert' })).status).toBe(201)
  refuseAlerts()
  try {
    expect((await gw.admin('PATCH', '/v1/users/block-no-alert', { blocked: true, alias: 'changed' })).status).toBeGreaterThanOrEqual(500)
  } finally {
    allowAlerts()
  }
  expect((await gw.admin('GET', '/v1/users/block-no-alert')).body).toMatchObject({ blocked: false, alias: null })

  expect((await gw.admin('PATCH', '/v1/users/block-no-alert', { blocked: true })).status).toBe(200)
  expect((await gw.admin('PATCH', '/v1/users/block-no-alert', { blocked: true })).status).toBe(200) // blocked already
  expect((await alertsOf('user_blocked', 'block-no-alert')).length).toBe(1)
})

test('a change that blocks no one writes no alert, and one that unblocks neither', async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'not-blocked', blocked: true })).status).toBe(201)
  refuseAlerts()
  try {
    // No alert is written, so a database refusing alerts does not stand in the way.
    expect((await gw.admin('PATCH', '/v1/users/not-blocked', { alias: 'renamed' })).status).toBe(200)
    expect((await gw.admin('PATCH', '/v1/users/not-blocked', { blocked: false })).status).toBe(200)
  } finally {
    allowAlerts()
  }
  expect(await alertsOf('user_blocked', 'not-blocked')).toEqual([])
})

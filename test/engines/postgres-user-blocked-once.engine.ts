/**
 * PATCH /v1/users/:id {blocked: true} raises `user_blocked` when it is the update that blocks the user. Judged
 * from a row read before the update, several PATCHes at once (an operator's double click, a script retrying,
 * the console and the CLI) would each find "not blocked" and each raise: one block, several alerts, each with
 * a dedupe key of its own (`user_blocked:<id>:<ms>`), each posted to every webhook. The store reports whether
 * the user was blocked as read under the update's lock, as DELETE /v1/keys/:id decides from its UPDATE. On
 * Postgres (the store replicas share) the PATCHes run concurrently; on SQLite they happen to serialize.
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let mock: MockProvider
let gw: TestGateway | undefined
let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  await mock?.stop()
  await pg?.destroy()
})
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

test('Postgres: one user blocked by concurrent PATCHes raises one user_blocked alert', async () => {
  gw = await startTestGateway({ mock, config: { database_url: await pg.database('user_blocked_twice'), alerts: { check_interval_ms: 60_000 } } })
  expect((await gw.admin('POST', '/v1/users', { id: 'dbl' })).status).toBe(201)
  const statuses: number[] = []
  // A few rounds apart in time, so that the alerts' keys (which carry the millisecond) cannot coincide.
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      await Bun.sleep(i % 2 === 0 ? 0 : 2)
      statuses.push((await gw!.admin('PATCH', '/v1/users/dbl', { blocked: true })).status)
    }),
  )
  expect(statuses.every((s) => s === 200)).toBe(true)
  const alerts = (await gw.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
  expect(alerts.length).toBe(1)
})

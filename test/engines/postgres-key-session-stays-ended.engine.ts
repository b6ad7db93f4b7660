/** The Postgres twin of test/console-key-session-stays-ended.test.ts: the sessions are deleted in the change's transaction there too. */
import { afterAll, beforeAll, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { blockedThenUnblocked, expiredThenExtended, extendedInTime } from '../support/key-session-ends'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { database_url: await pg.database('key_session_ends'), log_level: 'silent' } })
}, 60_000)
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
  await pg?.destroy()
})

test('a key session ended by blocking its user stays ended once the user is unblocked', () => blockedThenUnblocked(gw, 'blocked-then-not'))
test('a key session ended by its key expiring stays ended once the key is given a later expiry', () => expiredThenExtended(gw, 'expired-then-not'))
test('a key session whose key is given a later expiry before it expires goes on', () => extendedInTime(gw, 'extended-in-time'))

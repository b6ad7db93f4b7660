/**
 * Red team (jr): README "Admin console": a key's session "ends as soon as its key is revoked, rotated or expires, or
 * its user is blocked or deleted". SessionStore.resolve (`holds`) only refused the session while the condition
 * lasted, and removed its row only if a request happened to arrive meanwhile: an admin who blocked a user, then
 * unblocked them (or gave an expired key a new expiry), found every browser session of theirs signed in again.
 * The Postgres twin is test/engines/postgres-key-session-stays-ended.engine.ts.
 */
import { afterAll, beforeAll, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { blockedThenUnblocked, expiredThenExtended, extendedInTime } from './support/key-session-ends'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('a key session ended by blocking its user stays ended once the user is unblocked', () => blockedThenUnblocked(gw, 'blocked-then-not'))
test('a key session ended by its key expiring stays ended once the key is given a later expiry', () => expiredThenExtended(gw, 'expired-then-not'))
test('a key session whose key is given a later expiry before it expires goes on', () => extendedInTime(gw, 'extended-in-time'))

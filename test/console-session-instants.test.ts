/**
 * Mutation guard: a session ends at its instants, not a millisecond later.
 * `GET /v1/session` tells the console its `expires_at` (the earlier of its maximum age and its idle end); at that
 * instant it has ended (README "Admin console": a session ends after the idle minutes, or the maximum hours after
 * sign-in). A key's session ends as its key expires, and the key store takes a key as expired at its `expires_at`
 * (src/keys/key-store.ts: `expiresAt <= now`), as does a key change's deletion of its sessions
 * (src/store/ended-sessions.ts expiredBy). The HTTP tests move the clock by whole seconds, so `<=` turned `<` in
 * any of these comparisons passed them all: a session accepted at its own end, a key session live on a key the
 * request path already refuses.
 */
import { expect, test } from 'bun:test'
import { SessionStore } from '../src/console/sessions'
import { expiredBy } from '../src/store/ended-sessions'
import type { SessionRow, SessionRows } from '../src/store/store'

const MASTER = 'a-master-key-for-the-session-instants-test-0123456789'
const IDLE_MS = 30 * 60_000
const MAX_MS = 12 * 3_600_000
const TOKEN = 'A'.repeat(43)
const SIGNED_IN = 1_800_000_000_000

/** One session row, whatever the id asked for; what was removed is kept. */
function rowsOf(row: Omit<SessionRow, 'id'>) {
  const removed: string[] = []
  const rows: SessionRows = {
    insert: async () => true,
    find: async (ids) => ids.map((id) => ({ ...row, id })),
    touch: async () => {},
    remove: async (ids) => void removed.push(...ids),
  }
  return { rows, removed }
}

const admin = (over: Partial<SessionRow> = {}): Omit<SessionRow, 'id'> => ({
  kind: 'admin', key_id: null, key_hash: null, created_at: SIGNED_IN, last_seen_at: SIGNED_IN, expires_at: SIGNED_IN + MAX_MS,
  current_key_hash: null, revoked_at: null, key_expires_at: null, user_id: null, allowed_models: null, rpm_limit: null,
  user_field: null, clamp_output: null, blocked: null, ...over,
})

const keySession = (keyExpiresAt: number): Omit<SessionRow, 'id'> =>
  // Used a minute before its key's end, so neither the idle timeout nor the maximum age is near.
  admin({ last_seen_at: keyExpiresAt - 60_000, kind: 'key', key_id: 'key_1', key_hash: 'h', current_key_hash: 'h', key_expires_at: keyExpiresAt, user_id: 'u', blocked: false, user_field: 'reject' })

async function liveAt(row: Omit<SessionRow, 'id'>, now: number) {
  const { rows, removed } = rowsOf(row)
  const live = await new SessionStore(rows, MASTER, { idleMs: IDLE_MS, maxMs: MAX_MS }).resolve([TOKEN], now)
  return { live: live.length, removed: removed.length }
}

test('a session used all along has ended at its maximum age, to the millisecond', async () => {
  const end = SIGNED_IN + MAX_MS
  // Used a minute before its end, so the idle timeout is far off.
  const row = admin({ last_seen_at: end - 60_000 })
  expect(await liveAt(row, end - 1)).toEqual({ live: 1, removed: 0 })
  expect(await liveAt(row, end)).toEqual({ live: 0, removed: 1 })
})

test('an idle session has ended at its idle end (the timeout plus the tenth-of-a-minute write slack), to the millisecond', async () => {
  // Written once a minute: idle once 30 min plus that minute have passed since its last written use.
  const idleEnd = SIGNED_IN + IDLE_MS + 60_000
  expect(await liveAt(admin(), idleEnd - 1)).toEqual({ live: 1, removed: 0 })
  expect(await liveAt(admin(), idleEnd)).toEqual({ live: 0, removed: 1 })
})

test("a key's session has ended at its key's expires_at, as the key itself has", async () => {
  const keyEnd = SIGNED_IN + 3_600_000
  expect(await liveAt(keySession(keyEnd), keyEnd - 1)).toEqual({ live: 1, removed: 0 })
  expect(await liveAt(keySession(keyEnd), keyEnd)).toEqual({ live: 0, removed: 1 })
  // A change to the key at that instant finds it expired, and ends its sessions for good.
  expect(expiredBy(keyEnd, keyEnd)).toBe(true)
  expect(expiredBy(keyEnd, keyEnd - 1)).toBe(false)
})

import { expect, test } from 'bun:test'
import { SessionStore } from '../src/console/sessions'
import type { NewSessionRow, SessionRow, SessionRows } from '../src/store/store'

/**
 * The console's idle timeout (`console_session_idle_min`: "sign-ins end after this many idle minutes") ends
 * a session only after it has really been idle that long. A use is written at most once a minute (a tenth
 * of a shorter timeout), so the last use may be later than the one written: with the minimum setting of
 * 1 minute, a console used every 10 seconds must not be signed out at 60 s; with the default 30 minutes,
 * one used at 0:59 and then left for 29:30 is still signed in, and the `expires_at` it reports is kept.
 */
class MemoryRows implements SessionRows {
  rows = new Map<string, SessionRow>()
  async insert(r: NewSessionRow, now: number) {
    this.rows.set(r.id, {
      id: r.id, kind: r.kind, key_id: r.keyId, key_hash: r.keyHash, created_at: r.createdAt, last_seen_at: now, expires_at: r.expiresAt,
      current_key_hash: null, revoked_at: null, key_expires_at: null, user_id: null, allowed_models: null,
      rpm_limit: null, user_field: null, clamp_output: null, blocked: null,
    })
    return true
  }
  async find(ids: readonly string[]) {
    return ids.flatMap((id) => {
      const row = this.rows.get(id)
      return row ? [{ ...row }] : []
    })
  }
  async touch(ids: readonly string[], now: number) {
    for (const id of ids) {
      const row = this.rows.get(id)
      if (row) row.last_seen_at = now
    }
  }
  async remove(ids: readonly string[]) {
    for (const id of ids) this.rows.delete(id)
  }
}

const MINUTE = 60_000

/** The live session of one token at `now`, or null. */
const resolved = async (sessions: SessionStore, token: string, now: number) => (await sessions.resolve([token], now))[0] ?? null

test('a console session used every 10 s never ends by its 1-minute idle timeout', async () => {
  const sessions = new SessionStore(new MemoryRows(), 'm'.repeat(40), { idleMs: MINUTE, maxMs: 12 * 60 * MINUTE })
  const t0 = 1_800_000_000_000
  const { token } = await sessions.create('admin', null, t0)
  const endedAt: number[] = []
  for (let t = t0 + 10_000; t <= t0 + 5 * MINUTE; t += 10_000) {
    const s = await resolved(sessions, token, t)
    if (s === null) {
      endedAt.push((t - t0) / 1000)
      break
    }
  }
  expect(endedAt).toEqual([])
})

test('with the default 30-minute idle timeout, a session idle for less than 30 minutes is still signed in, as its expires_at says', async () => {
  const sessions = new SessionStore(new MemoryRows(), 'm'.repeat(40), { idleMs: 30 * MINUTE, maxMs: 12 * 60 * MINUTE })
  const t0 = 1_800_000_000_000
  const { token } = await sessions.create('admin', null, t0)
  const lastUse = t0 + 59_000
  const seen = await resolved(sessions, token, lastUse)
  expect(seen).not.toBeNull()
  // Told to the browser: the session lasts until 30 minutes after this use.
  expect(seen!.expiresAt).toBe(lastUse + 30 * MINUTE)
  // 29 min 30 s of idleness later: before the expiry it was given.
  expect(await resolved(sessions, token, lastUse + 29 * MINUTE + 30_000)).not.toBeNull()
})

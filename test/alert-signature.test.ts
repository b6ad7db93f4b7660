/**
 * Mutation guard: the webhook signature is HMAC-SHA256 over "<timestamp>.<raw body>" (README, "The
 * request"), checked in constant time, and a timestamp far from now either way is refused. The suite's own check
 * (alerts.test.ts) verifies with the same function that signs, so a signature dropping the timestamp (a captured
 * delivery replayable under any fresh X-Tollgate-Timestamp), a tolerance one-sided (a future timestamp accepted) or
 * a plain string compare all passed it.
 */
import { createHmac } from 'node:crypto'
import * as nodeCrypto from 'node:crypto'
import { describe, expect, spyOn, test } from 'bun:test'
import { signature, verifySignature } from '../src/alerts/signature'

const SECRET = 'webhook-secret-0123456789abcdef'
const BODY = '{"id":"alt_0","kind":"user_blocked","created_at":"2026-12-05T00:00:00.000Z","text":"tollgate: user u was blocked","data":{"user_id":"u"}}'

describe('webhook signature', () => {
  test('is the HMAC-SHA256 of "<timestamp>.<body>", as documented for receivers in any language', () => {
    const ts = 1_764_900_000
    const expected = 'v1=' + createHmac('sha256', SECRET).update(`${ts}.${BODY}`).digest('hex')
    expect(signature(SECRET, ts, BODY)).toBe(expected)
  })

  test('a captured delivery re-sent under a fresh timestamp fails the check (no replay)', () => {
    const now = Math.floor(Date.now() / 1000)
    const captured = signature(SECRET, now - 3600, BODY)
    // The attacker keeps body and signature and only puts a current time in X-Tollgate-Timestamp.
    expect(verifySignature(SECRET, now, BODY, captured, now)).toBe(false)
    expect(verifySignature(SECRET, now - 3600, BODY, captured, now - 3600)).toBe(true)
  })

  test('a timestamp far in the future is refused as one far in the past is', () => {
    const now = Math.floor(Date.now() / 1000)
    const ahead = now + 3600
    expect(verifySignature(SECRET, ahead, BODY, signature(SECRET, ahead, BODY), now)).toBe(false)
    const behind = now - 3600
    expect(verifySignature(SECRET, behind, BODY, signature(SECRET, behind, BODY), now)).toBe(false)
    expect(verifySignature(SECRET, now + 10, BODY, signature(SECRET, now + 10, BODY), now)).toBe(true)
  })

  test('the compare is constant-time (timingSafeEqual), and a header of another length is refused without throwing', () => {
    const now = Math.floor(Date.now() / 1000)
    const good = signature(SECRET, now, BODY)
    const safe = spyOn(nodeCrypto, 'timingSafeEqual')
    try {
      expect(verifySignature(SECRET, now, BODY, good.slice(0, -1) + (good.endsWith('0') ? '1' : '0'), now)).toBe(false)
      expect(safe).toHaveBeenCalled()
    } finally {
      safe.mockRestore()
    }
    expect(verifySignature(SECRET, now, BODY, good.slice(0, 10), now)).toBe(false)
    expect(verifySignature(SECRET, now, BODY, good + 'ff', now)).toBe(false)
  })
})

/**
 * Webhook signatures: HMAC-SHA256 over `<timestamp>.<body>` with the webhook's secret, sent as
 * `X-Tollgate-Signature: v1=<hex>` beside `X-Tollgate-Timestamp` (unix seconds). A receiver recomputes it
 * over the raw body, compares in constant time, and refuses an old timestamp (a replayed delivery).
 */
import { timingSafeEqual } from 'node:crypto'

export function signature(secret: string, timestamp: number, body: string): string {
  return 'v1=' + new Bun.CryptoHasher('sha256', secret).update(`${timestamp}.${body}`).digest('hex')
}

/** What a receiver does; exported for receivers written in TypeScript and for the tests. */
export function verifySignature(secret: string, timestamp: number, body: string, header: string, nowSec = Date.now() / 1000, toleranceSec = 300): boolean {
  if (!Number.isFinite(timestamp) || Math.abs(nowSec - timestamp) > toleranceSec) return false
  const expected = Buffer.from(signature(secret, timestamp, body))
  const given = Buffer.from(header)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

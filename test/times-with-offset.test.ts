/**
 * Times in the admin API are ISO 8601 with an offset (README: "`since` and `until` (ISO 8601 with an offset)"; a
 * price's `effective_from`, a key's `expires_at`): `Z` and a numeric offset alike. Python's `datetime.isoformat()` of
 * an aware time writes `+00:00`, a local time `+02:00`; a schema that took only `Z` would refuse every such client
 * with a 400. Each is read as the instant it names.
 * Kills: `z.iso.datetime({ offset: true })` → `z.iso.datetime()` in pricing.ts (effective_from), keys.ts
 * (futureTime) and records.ts (the lists' since/until).
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))
beforeAll(async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'offset-times' })).status).toBe(201)
})

/** The instant `ms` written with a numeric offset of `minutes` east of UTC, as Python's isoformat() writes it. */
function withOffset(ms: number, minutes: number): string {
  const local = new Date(ms + minutes * 60_000).toISOString().slice(0, 19)
  const sign = minutes < 0 ? '-' : '+'
  const abs = Math.abs(minutes)
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}

test('a scheduled price with a numeric offset is taken, effective at the instant it names', async () => {
  const at = Math.ceil((Date.now() + 7 * 86_400_000) / 1000) * 1000
  const r = await gw.admin('POST', '/v1/pricing', { model: 'mock:offset-price', input_per_million: 1, output_per_million: 2, effective_from: withOffset(at, 120) })
  expect({ status: r.status, effective_from: r.body?.effective_from }).toEqual({ status: 201, effective_from: new Date(at).toISOString() })
})

test('a key expiry with a numeric offset is taken, at the instant it names', async () => {
  const at = Math.ceil((Date.now() + 86_400_000) / 1000) * 1000
  const r = await gw.admin('POST', '/v1/keys', { user_id: 'offset-times', expires_at: withOffset(at, 330) })
  expect({ status: r.status, expires_at: r.body?.expires_at }).toEqual({ status: 201, expires_at: new Date(at).toISOString() })
  const p = await gw.admin('PATCH', `/v1/keys/${r.body.id}`, { expires_at: withOffset(at + 3_600_000, 0) })
  expect({ status: p.status, expires_at: p.body?.expires_at }).toEqual({ status: 200, expires_at: new Date(at + 3_600_000).toISOString() })
})

test('since and until with a numeric offset are taken by the lists', async () => {
  const since = withOffset(Date.now() - 86_400_000, -300)
  const until = withOffset(Date.now() + 86_400_000, 0)
  const got: string[] = []
  for (const path of ['/v1/usage', '/v1/usage/summary', '/v1/audit', '/v1/users/offset-times/usage']) {
    got.push(`${path} ${(await gw.admin('GET', `${path}?since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`)).status}`)
  }
  expect(got).toEqual(['/v1/usage 200', '/v1/usage/summary 200', '/v1/audit 200', '/v1/users/offset-times/usage 200'])
})

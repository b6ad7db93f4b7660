/**
 * Mutation guard: requests refused before any key was known are counted per
 * source and interval, and one interval keeps at most 10,000 sources apart; past that, new sources share one row
 * under `*`. Without that bound, a flood from many addresses (an IPv6 /48 holds 65,536 /64s) writes a row, and
 * keeps an aggregate in memory, per source.
 */
import { expect, test } from 'bun:test'
import { RequestLog, type RequestLogEntry } from '../src/records/request-log'
import type { RefusalAggregate } from '../src/store/store'

test('one interval keeps at most 10,000 sources apart; the rest are counted together under `*`, none lost', () => {
  const rows = new Map<string, RefusalAggregate>()
  const store = {
    appendRequestLog: () => {},
    storeRefusals: (a: RefusalAggregate) => void rows.set(a.key, a),
    pruneRequestLog: async () => 0,
    alerts: { prune: async () => 0 },
  }
  const log = new RequestLog(store as any, 0)
  const at = Math.floor(Date.now() / 60_000) * 60_000 + 1
  const entry = (i: number): RequestLogEntry => ({
    createdAt: at,
    requestId: `r${i}`,
    method: 'POST',
    route: '/v1/chat/completions',
    status: 401,
    latencyMs: 1,
    clientIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    keyId: null,
    userId: null,
  })
  const N = 12_000
  try {
    for (let i = 0; i < N; i++) log.appendRefusal(entry(i), '/v1/chat/completions')
    log.sync()
    expect(rows.size).toBe(10_001)
    const shared = [...rows.values()].filter((a) => a.first.clientIp === '*')
    expect(shared.length).toBe(1)
    expect(shared[0]!.count).toBe(N - 10_000)
    expect([...rows.values()].reduce((n, a) => n + a.count, 0)).toBe(N)
  } finally {
    log.stop()
  }
})

import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { SqliteStore } from '../src/store/sqlite/store'
import { clientSource, UNPARSEABLE_SOURCE } from '../src/http/client-source'
import { RequestLog } from '../src/records/request-log'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  // Trusting the proxy lets this test speak for clients at any address, IPv6 ones included.
  gw = await startTestGateway({ mock, config: { trust_proxy: true } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const knock = (path: string, ip: string, init: RequestInit = {}) =>
  fetch(gw.url + path, { ...init, headers: { authorization: 'Bearer tg-not-a-real-key', 'x-forwarded-for': ip, ...(init.headers as object) } })

const auditFor = async (ip: string) => (await gw.admin('GET', `/v1/audit?client_ip=${encodeURIComponent(ip)}&limit=1000`)).body.data as any[]

describe('requests refused before a key is known', () => {
  test('a flood from one source is a few rows with counts, not a row each; /v1/audit shows them', async () => {
    const ip = '198.51.100.7'
    const paths = ['/v1/chat/completions', '/v1/models', ...Array.from({ length: 40 }, (_, i) => `/v1/probe-${i}-${'x'.repeat(300)}`)]
    let sent = 0
    // Rows are kept per minute of the clock (src/records/request-log.ts): the flood is sent within one. A CI run
    // whose flood crossed a minute's end found each of its three rows twice.
    const intoMinute = Date.now() % 60_000
    if (intoMinute > 50_000) await Bun.sleep(60_000 - intoMinute + 10)
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(paths.map((p) => knock(p, ip, { method: p === '/v1/models' ? 'GET' : 'POST' })))
      expect(answers.every((a) => a.status === 401)).toBe(true)
      sent += answers.length
    }
    await gw.settled()
    const rows = await auditFor(ip)
    // One row per route pattern (unknown paths share one) and method, however many requests.
    expect(rows.length).toBeLessThanOrEqual(3)
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(sent)
    const chat = rows.find((r) => r.route === '/v1/chat/completions')
    expect(chat).toMatchObject({ method: 'POST', status: 401, count: 10, key_id: null, user_id: null, client_ip: ip })
    expect(Date.parse(chat.last_at)).toBeGreaterThanOrEqual(Date.parse(chat.created_at))
    // An unknown path is kept as its first sample, cut short.
    const probe = rows.find((r) => r.route.startsWith('/v1/probe-'))
    expect(probe.count).toBe(400)
    expect(probe.route.length).toBeLessThanOrEqual(64)
    expect(gw.query('SELECT count(*) AS n FROM api_request_log WHERE client_ip = ?', ip)[0].n).toBe(rows.length)
  }, 30_000)

  test('an IPv6 source is counted by its /64', async () => {
    for (const ip of ['2001:db8:aa:1::1', '2001:db8:aa:1:ffff:ffff:ffff:ffff', '2001:0db8:00aa:0001:1234::9'])
      expect((await knock('/v1/models', ip)).status).toBe(401)
    expect((await knock('/v1/models', '2001:db8:aa:2::1')).status).toBe(401)
    await gw.settled()
    expect((await auditFor('2001:db8:aa:1::/64')).map((r) => r.count)).toEqual([3])
    expect((await auditFor('2001:db8:aa:2::/64')).map((r) => r.count)).toEqual([1])
    // Asked for by one of its addresses, the audit finds the /64 it is counted under.
    expect((await auditFor('2001:db8:aa:1::77')).map((r) => [r.client_ip, r.count])).toEqual([['2001:db8:aa:1::/64', 3]])
  })

  test('authenticated requests keep one row each, refusals included', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'known' })
    for (let i = 0; i < 3; i++) expect((await fetch(`${gw.url}/v1/users`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(403)
    await gw.settled()
    const rows = (await gw.admin('GET', `/v1/audit?key_id=${keyId}`)).body.data
    expect(rows.map((r: any) => [r.status, r.count, r.last_at])).toEqual([[403, 1, null], [403, 1, null], [403, 1, null]])
  })
})

describe('the aggregation', () => {
  test('sources: an IPv4 address as is, an IPv4-mapped one as IPv4, an IPv6 one by its /64', () => {
    expect(clientSource('203.0.113.9')).toBe('203.0.113.9')
    expect(clientSource('::ffff:203.0.113.9')).toBe('203.0.113.9')
    expect(clientSource('2001:db8::1')).toBe('2001:db8::/64')
    expect(clientSource('2001:DB8:0:0:1::1')).toBe('2001:db8::/64')
    expect(clientSource('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(clientSource('fe80::1%eth0')).toBe('fe80::/64')
    expect(clientSource('::1')).toBe('::/64')
    expect(clientSource(null)).toBe(null)
  })

  test('an IPv4-mapped address in any spelling (expanded, in hex, with a zone) is its IPv4 client, not one shared ::/64', () => {
    for (const [a, b] of [
      ['0:0:0:0:0:ffff:1.2.3.4', '0:0:0:0:0:ffff:5.6.7.8'],
      ['::ffff:102:304', '::ffff:506:708'],
      ['::ffff:1.2.3.4%eth0', '::FFFF:5.6.7.8%eth0'],
    ])
      expect([clientSource(a!), clientSource(b!)]).toEqual(['1.2.3.4', '5.6.7.8'])
    // Not an address at all, or a dotted part out of range: never merged with an address, all one source.
    expect(clientSource('::ffff:1.2.3.400')).toBe(UNPARSEABLE_SOURCE)
    expect(clientSource('1.2.3.400')).toBe(UNPARSEABLE_SOURCE)
    expect(clientSource('2001:db8::1.2.3.4')).toBe('2001:db8::/64')
  })

  test('a new interval opens a new row; every request is counted', async () => {
    const store = SqliteStore.open(':memory:')
    const { db, writes: queue } = store
    const log = new RequestLog(store, 0)
    const t0 = 1_800_000_000_000
    const refusal = (at: number, i: number) => ({
      createdAt: at, requestId: `r${i}`, method: 'GET', route: '/v1/models', status: 401, latencyMs: 1, clientIp: '203.0.113.9', keyId: null, userId: null,
    })
    for (let i = 0; i < 49; i++) log.appendRefusal(refusal(t0 + i * 100, i), '/v1/models')
    // The row's insert, queued by the first request, writes the count as it is when it runs.
    queue.flush()
    expect(db.$client.query('SELECT count FROM api_request_log').all()).toEqual([{ count: 49 }])
    // Later counts reach the row when the log is synced (a timer, a read, a stop), not on every request.
    log.appendRefusal(refusal(t0 + 49 * 100, 49), '/v1/models')
    queue.flush()
    expect(db.$client.query('SELECT count FROM api_request_log').all()).toEqual([{ count: 49 }])
    for (let i = 50; i < 80; i++) log.appendRefusal(refusal(t0 + 60_000 + i, i), '/v1/models')
    log.sync()
    queue.flush()
    const rows = db.$client.query('SELECT request_id, count, created_at, last_at FROM api_request_log ORDER BY id').all()
    expect(rows).toEqual([
      { request_id: 'r0', count: 50, created_at: t0, last_at: t0 + 4_900 },
      { request_id: 'r50', count: 30, created_at: t0 + 60_050, last_at: t0 + 60_079 },
    ])
    // Stopping writes what was counted; a refusal answered while the server drains is queued at once.
    for (let i = 80; i < 85; i++) log.appendRefusal(refusal(t0 + 60_100, i), '/v1/models')
    log.stop()
    log.appendRefusal(refusal(t0 + 60_200, 85), '/v1/models')
    queue.flush()
    expect(db.$client.query('SELECT count, last_at FROM api_request_log WHERE request_id = ?').get('r50')).toEqual({ count: 36, last_at: t0 + 60_200 })
    await store.close()
  })
})

/**
 * Three gateway processes on one SQLite file with a real Redis, each run with the replicas' environment of
 * deploy/compose.yaml (issue 14): rate limits shared across them, a revoked key refused everywhere at once,
 * and Redis outages met by the configured failure mode, then recovered from without a restart.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { MASTER_KEY, spawnGateway, tempDir, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { REPLICA_SECRETS, replicaEnvironment } from '../support/replicas'
import { untilRedisUp, within } from '../support/wait-for'

let redis: TestRedis
let mock: MockProvider
let dir: string
let replicas: SpawnedGateway[]
const METRICS_TOKEN = 'test-metrics-token-0123456789'
/** The compose file's Redis requires REDIS_PASSWORD, which the replicas get apart from the URL: so does this one. */
const REDIS_PASSWORD = REPLICA_SECRETS.REDIS_PASSWORD
const replicaOf = (dbPath: string) => replicaEnvironment({ redisUrl: redis.address, redisPassword: REDIS_PASSWORD, dbPath, masterKey: MASTER_KEY })

beforeAll(async () => {
  redis = await startRedis({ password: REDIS_PASSWORD })
  mock = startMockProvider()
  dir = tempDir('tollgate-replicas-')
  const dbPath = join(dir, 'shared.db')
  const env = replicaOf(dbPath)
  // One first, so that the migrations are applied once; then the other two beside it.
  const first = await spawnGateway({ mock, dbPath, env })
  replicas = [first, ...(await Promise.all([spawnGateway({ mock, dbPath, env }), spawnGateway({ mock, dbPath, env })]))]
  // A replica whose link is not up yet counts rate limits alone.
  await Promise.all(replicas.map((r) => untilRedisUp(r.url)))
}, 60_000)

afterAll(async () => {
  await Promise.all((replicas ?? []).map((r) => r.stop()))
  await redis?.stop()
  await mock?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** A client address of its own per test: the replicas trust X-Forwarded-For (as behind the compose file's nginx). */
let nextIp = 1
const clientIp = () => `203.0.113.${nextIp++}`

const models = (url: string, secret: string, ip: string) =>
  fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': ip } })

const chat = (url: string, secret: string, ip = clientIp()) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  })

const metric = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}

describe('rate limits shared through Redis', () => {
  test('a key\'s limit of N/min across 3 processes: N pass in total, the rest 429 with Retry-After', async () => {
    const { secret } = await replicas[0]!.userWithKey({ id: 'rpm-user' }, { rpm_limit: 6 })
    const ip = clientIp()
    // 30 requests at once, spread over the three processes (each alone would allow 6: 18 in all).
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => models(replicas[i % 3]!.url, secret, ip)))
    const passed = answers.filter((r) => r.status === 200)
    const refused = answers.filter((r) => r.status === 429)
    expect(passed.length).toBe(6)
    expect(refused.length).toBe(24)
    for (const r of refused) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(r.headers.get('x-ratelimit-limit')).toBe('6')
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0')
      expect(((await r.json()) as any).error.code).toBe('rate_limit_exceeded')
    }
    // The allowed ones counted down one shared allowance: 5, 4, … 0, each seen once.
    expect(passed.map((r) => r.headers.get('x-ratelimit-remaining')).sort()).toEqual(['0', '1', '2', '3', '4', '5'])
  })

  test('the per-IP limit of the compose file is one count for all three processes', async () => {
    const { secret } = await replicas[0]!.userWithKey({ id: 'ip-user' })
    const perMinute = Number(replicaOf('').TOLLGATE_RATE_LIMIT_PER_MIN)
    const ip = clientIp()
    const start = performance.now()
    const answers = await Promise.all(Array.from({ length: perMinute + 150 }, (_, i) => models(replicas[i % 3]!.url, secret, ip)))
    const elapsed = performance.now() - start
    const passed = answers.filter((r) => r.status === 200).length
    // GCRA gives the allowance back one request per (60 s / N) as time passes; nothing more.
    expect(passed).toBeGreaterThanOrEqual(perMinute)
    expect(passed).toBeLessThanOrEqual(perMinute + Math.ceil(elapsed / (60_000 / perMinute)) + 1)
    expect(answers.filter((r) => r.status === 429).length).toBe(answers.length - passed)
  })

  test('an IPv6 client is one count per /64 on every process: another address of it, on another replica, draws on the same allowance', async () => {
    const remaining = async (url: string, ip: string) => Number((await fetch(`${url}/health`, { headers: { 'x-forwarded-for': ip } })).headers.get('x-ratelimit-remaining'))
    const perMinute = Number(replicaOf('').TOLLGATE_RATE_LIMIT_PER_MIN)
    // GCRA gives one request back every 60 s / N: a loaded machine took 189 ms between two requests, one given back,
    // and the second replica's count looked like a fresh one. So the /64 first spends a tenth of its allowance at once
    // on one replica, and what another replica then says is bounded by what was spent and the time since. Since the
    // spending began, not since its answers came: on a loaded machine Redis counted the last of them long before.
    const spendingFrom = performance.now()
    const spent = await Promise.all(Array.from({ length: perMinute / 10 }, () => remaining(replicas[0]!.url, '2001:db8:77:1::1')))
    const first = Math.min(...spent)
    const second = await remaining(replicas[1]!.url, '2001:db8:77:1::2')
    const third = await remaining(replicas[2]!.url, '2001:db8:77:1:aaaa:bbbb:cccc:dddd')
    const givenBack = Math.ceil((performance.now() - spendingFrom) / (60_000 / perMinute)) + 1
    expect({ second: second <= first - 1 + givenBack, third: third <= first - 2 + givenBack, notAfresh: second < perMinute - 1 }).toEqual({ second: true, third: true, notAfresh: true })
    // Another /64 is another client.
    expect(await remaining(replicas[1]!.url, '2001:db8:77:2::1')).toBe(perMinute - 1)
  })
})

describe('changes reach every replica at once (Redis pub/sub)', () => {
  test('a key revoked through replica A is refused by B and C within 1 s (the cache TTL is 5 s)', async () => {
    const [a, b, c] = replicas as [SpawnedGateway, SpawnedGateway, SpawnedGateway]
    const { secret, keyId } = await a.userWithKey({ id: 'revoked-user' })
    // B and C have verified (and cached) the key.
    expect((await models(b.url, secret, clientIp())).status).toBe(200)
    expect((await models(c.url, secret, clientIp())).status).toBe(200)
    expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
    const onB = within(1_000, async () => (await models(b.url, secret, clientIp())).status === 401)
    const onC = within(1_000, async () => (await models(c.url, secret, clientIp())).status === 401)
    expect(await onB).toBeLessThan(1_000)
    expect(await onC).toBeLessThan(1_000)
  })

  test('a key revoked through A while a request body is still arriving at B: B refuses it once the body is in, and calls no provider', async () => {
    const [a, b] = replicas as [SpawnedGateway, SpawnedGateway]
    const { secret, keyId } = await a.userWithKey({ id: 'revoked-in-flight' })
    const ip = clientIp()
    const bytes = new TextEncoder().encode(JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }))
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    mock.reset()
    // B verifies (and caches) the key as the request arrives; the body waits.
    const pending = fetch(`${b.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'x-forwarded-for': ip },
      body: new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(bytes.slice(0, 10))
          await gate
          c.enqueue(bytes.slice(10))
          c.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    await Bun.sleep(100)
    expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
    expect(await within(1_000, async () => (await models(b.url, secret, clientIp())).status === 401)).toBeLessThan(1_000)
    release()
    const res = await pending
    await res.arrayBuffer()
    expect({ status: res.status, upstreamCalls: mock.calls.length }).toEqual({ status: 401, upstreamCalls: 0 })
  })

  test('a rotated key: the old secret is refused by the other replicas within 1 s', async () => {
    const [a, b] = replicas as [SpawnedGateway, SpawnedGateway]
    const { secret, keyId } = await b.userWithKey({ id: 'rotated-user' })
    expect((await models(a.url, secret, clientIp())).status).toBe(200)
    const rotated = await b.admin('POST', `/v1/keys/${keyId}/rotate`)
    expect(rotated.status).toBe(200)
    expect(await within(1_000, async () => (await models(a.url, secret, clientIp())).status === 401)).toBeLessThan(1_000)
    expect((await models(a.url, rotated.body.key, clientIp())).status).toBe(200)
  })

  test('a key patched through A (its models narrowed) and a user deleted through A: B follows within 1 s', async () => {
    const [a, b] = replicas as [SpawnedGateway, SpawnedGateway]
    const patched = await a.userWithKey({ id: 'patched-user' })
    expect((await chat(b.url, patched.secret)).status).toBe(200)
    expect((await a.admin('PATCH', `/v1/keys/${patched.keyId}`, { allowed_models: ['mock:gpt-other'] })).status).toBe(200)
    expect(await within(1_000, async () => (await chat(b.url, patched.secret)).status === 403)).toBeLessThan(1_000)

    const deleted = await a.userWithKey({ id: 'deleted-user' })
    expect((await models(b.url, deleted.secret, clientIp())).status).toBe(200)
    expect((await a.admin('DELETE', '/v1/users/deleted-user')).status).toBe(200)
    expect(await within(1_000, async () => (await models(b.url, deleted.secret, clientIp())).status === 401)).toBeLessThan(1_000)
  })

  test('a model unpriced through replica A is refused (402) by B within 1 s', async () => {
    const [a, b] = replicas as [SpawnedGateway, SpawnedGateway]
    const { secret } = await a.userWithKey({ id: 'priced-user' })
    await a.admin('POST', '/v1/pricing', { model: 'mock:gpt-unpriced-soon', input_per_million: 1, output_per_million: 1 })
    const ask = () =>
      fetch(`${b.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'x-forwarded-for': clientIp() },
        body: JSON.stringify({ model: 'mock:gpt-unpriced-soon', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
      })
    // The new price reaches B the same way (the message may land just after A's answer).
    expect(await within(1_000, async () => (await ask()).status === 200)).toBeLessThan(1_000)
    expect((await a.admin('DELETE', '/v1/pricing/mock:gpt-unpriced-soon')).status).toBe(200)
    expect(await within(1_000, async () => (await ask()).status === 402)).toBeLessThan(1_000)
  })
})

describe('Redis stopped, then back', () => {
  test('open (the compose file\'s mode): requests pass, /health and /metrics say so, a log line too; then recovery', async () => {
    const [a, b] = replicas as [SpawnedGateway, SpawnedGateway]
    const { secret } = await a.userWithKey({ id: 'outage-user' })
    expect(await (await fetch(`${a.url}/health`)).json()).toEqual({ status: 'ok', redis: 'up', redis_failure: 'open' })
    await redis.stop()
    try {
      // Served all the same, each replica limiting alone.
      for (const r of [a, b]) {
        const res = await chat(r.url, secret)
        expect(res.status).toBe(200)
        expect(res.headers.get('x-ratelimit-limit')).not.toBeNull()
      }
      const health = await fetch(`${a.url}/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toEqual({ status: 'ok', redis: 'down', redis_failure: 'open' })
      expect(await metric(a.url, 'tollgate_redis_up')).toBe(0)
      expect(await metric(a.url, 'tollgate_rate_limit_ip_unshared_total')).toBeGreaterThan(0)
      expect(await metric(a.url, 'tollgate_redis_outages_total')).toBeGreaterThan(0)
      expect(a.output()).toContain('redis unreachable')
      for (const form of [REDIS_PASSWORD, encodeURIComponent(REDIS_PASSWORD)]) expect(a.output()).not.toContain(form)
    } finally {
      await redis.start()
    }
    // Back without a restart: shared again.
    expect(await within(15_000, async () => ((await (await fetch(`${a.url}/health`)).json()) as any).redis === 'up')).toBeLessThan(15_000)
    expect(await within(15_000, async () => (await metric(b.url, 'tollgate_redis_up')) === 1)).toBeLessThan(15_000)
    const { secret: limited } = await a.userWithKey({ id: 'after-outage' }, { rpm_limit: 2 })
    const ip = clientIp()
    const answers = await Promise.all([0, 1, 2, 0, 1, 2].map((i) => models(replicas[i]!.url, limited, ip)))
    expect(answers.filter((r) => r.status === 200).length).toBe(2)
  }, 60_000)

  test('closed: a 503 naming the limiter (never a 429), /health 503; then recovery', async () => {
    const closed = await spawnGateway({
      mock,
      dbPath: join(dir, 'shared.db'),
      env: { ...replicaOf(join(dir, 'shared.db')), TOLLGATE_REDIS_FAILURE: 'closed' },
    })
    try {
      const { secret } = await closed.userWithKey({ id: 'closed-user' })
      expect((await chat(closed.url, secret)).status).toBe(200)
      await redis.stop()
      try {
        const before = mock.calls.length
        const res = await chat(closed.url, secret)
        expect(res.status).toBe(503)
        expect(res.headers.get('retry-after')).toBe('1')
        expect(((await res.json()) as any).error.code).toBe('rate_limiter_unavailable')
        expect(mock.calls.length).toBe(before)
        const health = await fetch(`${closed.url}/health`)
        expect(health.status).toBe(503)
        expect(await health.json()).toEqual({ status: 'unavailable', redis: 'down', redis_failure: 'closed' })
      } finally {
        await redis.start()
      }
      expect(await within(15_000, async () => (await fetch(`${closed.url}/health`)).status === 200)).toBeLessThan(15_000)
      expect((await chat(closed.url, secret)).status).toBe(200)
    } finally {
      await closed.stop()
    }
  }, 60_000)
})

test('a replica started while Redis is down serves (open), then shares limits and hears changes once Redis is up', async () => {
  await redis.stop()
  const dbPath = join(dir, 'shared.db')
  const late = await spawnGateway({ mock, dbPath, env: replicaOf(dbPath) })
  try {
    expect(((await (await fetch(`${late.url}/health`)).json()) as any).redis).toBe('down')
    const { secret, keyId } = await late.userWithKey({ id: 'late-user' })
    expect((await models(late.url, secret, clientIp())).status).toBe(200)
    await redis.start()
    for (const g of [late, replicas[0]!])
      expect(await within(15_000, async () => ((await (await fetch(`${g.url}/health`)).json()) as any).redis === 'up')).toBeLessThan(15_000)
    // Its subscription was made on the late connection: a revocation through another replica reaches it.
    expect((await replicas[0]!.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
    expect(await within(1_000, async () => (await models(late.url, secret, clientIp())).status === 401)).toBeLessThan(1_000)
  } finally {
    await late.stop()
  }
}, 60_000)

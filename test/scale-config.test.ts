/**
 * Scale-out settings that need no engine (issue 14): TOLLGATE_REDIS_URL, TOLLGATE_REDIS_FAILURE and
 * TOLLGATE_WORKERS validated by name; the in-memory limiter stays the default; a Redis that cannot be
 * reached meets the failure mode from the first request; and one gateway per port on this host.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config/load'
import { configSchema } from '../src/config/schema'
import { createServices } from '../src/app'
import { GcraLimiter } from '../src/http/gcra'
import { SharedRateLimiter } from '../src/redis/rate-limiter'
import { MASTER_KEY, runGatewayExpectingExit, spawnGateway, startTestGateway, testConfig, type TestGateway } from './support/gateway'
import { freePort } from './support/free-port'

function refusal(env: Record<string, string>): string | null {
  try {
    loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, ...env })
    return null
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return e.message
  }
}

describe('settings', () => {
  test('defaults: no Redis, failure mode open, one process', () => {
    const c = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY })
    expect(c.redis_url).toBeUndefined()
    expect(c.redis_failure).toBe('open')
    expect(c.workers).toBe(1)
  })

  test('from the environment', () => {
    const c = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_REDIS_URL: 'redis://:pw@cache:6379/2', TOLLGATE_REDIS_FAILURE: 'closed', TOLLGATE_WORKERS: '4' })
    expect(c).toMatchObject({ redis_url: 'redis://:pw@cache:6379/2', redis_failure: 'closed', workers: 4 })
  })

  test('an invalid Redis URL is named, its password never printed', () => {
    const message = refusal({ TOLLGATE_REDIS_URL: 'http://:hunter2-secret@cache:6379' })
    expect(message).toContain('redis_url (TOLLGATE_REDIS_URL)')
    expect(message).not.toContain('hunter2')
  })

  test('alert webhooks are taken on the Postgres store as on SQLite (its replicas share one outbox)', () => {
    const c = configSchema.parse({
      master_key: MASTER_KEY,
      database_url: 'postgres://tollgate@db.internal/tollgate',
      alerts: { webhooks: { ops: { url: 'https://hooks.example/tollgate', secret: 'whsec-0123456789abcdef' } } },
    })
    expect(Object.keys(c.alerts.webhooks)).toEqual(['ops'])
  })

  test('an unknown failure mode, and workers below 1 or on port 0, are named', () => {
    expect(refusal({ TOLLGATE_REDIS_FAILURE: 'maybe' })).toContain('redis_failure (TOLLGATE_REDIS_FAILURE)')
    expect(refusal({ TOLLGATE_WORKERS: '0' })).toContain('workers (TOLLGATE_WORKERS)')
    expect(refusal({ TOLLGATE_WORKERS: '3', TOLLGATE_PORT: '0' })).toContain('workers (TOLLGATE_WORKERS): needs a fixed port')
    expect(refusal({ TOLLGATE_WORKERS: '3', TOLLGATE_PORT: '8080' })).toBeNull()
  })

  test('the in-memory limiter stays the default; Redis replaces it when configured', async () => {
    const local = await createServices(testConfig({ config: { db: ':memory:' } }, '/tmp'))
    expect(local.rateLimits.ip).toBeInstanceOf(GcraLimiter)
    expect(local.redis).toBeNull()
    const shared = await createServices(testConfig({ config: { db: ':memory:', redis_url: 'redis://127.0.0.1:1', log_level: 'silent' } }, '/tmp'))
    expect(shared.rateLimits.ip).toBeInstanceOf(SharedRateLimiter)
    expect(shared.rateLimits.key).toBeInstanceOf(SharedRateLimiter)
    for (const s of [local, shared]) await s.store.close()
    shared.redis!.stop()
  })
})

describe('Redis unreachable from the start', () => {
  const gateways: TestGateway[] = []
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()))
  })
  const start = async (failure: 'open' | 'closed') => {
    const g = await startTestGateway({
      config: { redis_url: `redis://127.0.0.1:${freePort()}`, redis_failure: failure, rate_limit_per_min: 3, log_level: 'silent' },
    })
    gateways.push(g)
    return g
  }

  test('open: served, each process limiting alone (same headers, same 429); /health says Redis is down', async () => {
    const g = await start('open')
    // /health counts against the client's limit like any request (SPEC §7: counted before anything else).
    const health = await fetch(`${g.url}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok', redis: 'down', redis_failure: 'open' })
    const answers = []
    for (let i = 0; i < 3; i++) answers.push(await fetch(`${g.url}/v1/models`, { headers: g.master }))
    expect(answers.map((r) => r.status)).toEqual([200, 200, 429])
    expect(answers[0]!.headers.get('x-ratelimit-limit')).toBe('3')
    expect(answers[2]!.headers.get('retry-after')).not.toBeNull()
  })

  test('closed: 503 rate_limiter_unavailable with Retry-After; /health answers 503 (never refused by the limiter)', async () => {
    const g = await start('closed')
    const res = await fetch(`${g.url}/v1/models`, { headers: g.master })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(((await res.json()) as any).error.code).toBe('rate_limiter_unavailable')
    const anthropic = await fetch(`${g.url}/v1/messages`, { method: 'POST', headers: g.master })
    expect(((await anthropic.json()) as any).error.type).toBe('api_error')
    for (let i = 0; i < 3; i++) {
      const health = await fetch(`${g.url}/health`)
      expect(health.status).toBe(503)
      expect(await health.json()).toEqual({ status: 'unavailable', redis: 'down', redis_failure: 'closed' })
    }
  })
})

test('one gateway per port on this host: a second one is refused, naming the port', async () => {
  const port = freePort()
  const first = await spawnGateway({ env: { TOLLGATE_PORT: String(port), TOLLGATE_HOST: '127.0.0.1' } })
  try {
    const second = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: String(port), TOLLGATE_HOST: '127.0.0.1' })
    expect(second.code).toBe(1)
    expect(second.output).toContain(`already serves port ${port}`)
    expect((await fetch(`${first.url}/health`)).status).toBe(200)
  } finally {
    await first.stop()
  }
}, 30_000)

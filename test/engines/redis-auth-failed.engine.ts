/**
 * A Redis that refuses tollgate's credentials is not an unreachable one: a wrong password (WRONGPASS), none where
 * one is required (NOAUTH), an ACL user without the commands tollgate runs (NOPERM). All were logged as "redis
 * unreachable", sending an operator after the network when the fix is the password in TOLLGATE_REDIS_URL (or
 * TOLLGATE_REDIS_PASSWORD), or the user's ACL. Now the log line and /health say authentication failed, without the
 * password; a Redis that is really gone is still unreachable. Against a redis-server started with --requirepass.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'

const PASSWORD = 'the-right-redis-password-0123'
const WRONG = 'a-wrong-redis-password-4567'
let redis: TestRedis
beforeAll(async () => {
  redis = await startRedis({ password: PASSWORD })
  // A user that may log in but not run tollgate's rate-limit script.
  await redis.cli('ACL', 'SETUSER', 'limited', 'on', '>limited-user-password', '~*', '&*', '-@all', '+ping', '+subscribe')
})
afterAll(async () => {
  await redis?.stop()
})

/** A gateway on this Redis, rate-limited so that every request runs the script; stopped after `check`. */
async function withGateway(redisUrl: string, check: (gw: SpawnedGateway) => Promise<void>): Promise<void> {
  const gw = await spawnGateway({ env: { TOLLGATE_REDIS_URL: redisUrl, TOLLGATE_RATE_LIMIT_PER_MIN: '600', TOLLGATE_LOG_LEVEL: 'info' } })
  try {
    await check(gw)
  } finally {
    await gw.stop()
  }
}

const health = async (gw: SpawnedGateway) => (await fetch(`${gw.url}/health`)).json() as Promise<Record<string, unknown>>
const waitFor = async (what: () => boolean) => {
  for (let i = 0; i < 100 && !what(); i++) await Bun.sleep(50)
}
const logLines = (gw: SpawnedGateway) => gw.output().split('\n').filter((line) => line.includes('redis'))

for (const [name, url, answer] of [
  ['a wrong password', () => `redis://:${WRONG}@127.0.0.1:${redis.port}`, 'WRONGPASS'],
  ['no password where one is required', () => redis.address, 'NOAUTH'],
  ['an unknown ACL user', () => `redis://nobody:${WRONG}@127.0.0.1:${redis.port}`, 'WRONGPASS'],
] as const)
  test(`${name}: logged and shown in /health as authentication failed, not unreachable`, async () => {
    await withGateway(url(), async (gw) => {
      await waitFor(() => gw.output().includes('authentication failed'))
      const lines = logLines(gw)
      expect(lines.some((l) => l.includes('redis authentication failed') && l.includes(answer))).toBe(true)
      expect(lines.filter((l) => l.includes('unreachable'))).toEqual([])
      expect(gw.output()).not.toContain(WRONG)
      expect(gw.output()).not.toContain(PASSWORD)
      expect(await health(gw)).toEqual({ status: 'ok', redis: 'down', redis_error: 'authentication_failed', redis_failure: 'open' })
      // Served all the same, limited in this process alone (the failure mode), as for any Redis down.
      expect((await fetch(`${gw.url}/v1/models`)).status).toBe(401)
    })
  }, 30_000)

test('an ACL user without the commands tollgate runs (NOPERM): authentication failed, naming the refused command', async () => {
  await withGateway(`redis://limited:limited-user-password@127.0.0.1:${redis.port}`, async (gw) => {
    // It logs in; the first rate-limited request runs the script, which Redis refuses.
    await fetch(`${gw.url}/v1/models`)
    await waitFor(() => gw.output().includes('authentication failed'))
    const lines = logLines(gw)
    expect(lines.some((l) => l.includes('redis authentication failed') && l.includes('NOPERM'))).toBe(true)
    expect(lines.filter((l) => l.includes('unreachable'))).toEqual([])
    expect(await health(gw)).toEqual({ status: 'ok', redis: 'down', redis_error: 'authentication_failed', redis_failure: 'open' })
  })
}, 30_000)

test('the right password: up; a Redis that is gone: unreachable, as before', async () => {
  await withGateway(redis.url, async (gw) => {
    await waitFor(() => gw.output().includes('redis connected'))
    expect(await health(gw)).toEqual({ status: 'ok', redis: 'up', redis_failure: 'open' })
  })
  const gone = await startRedis()
  await gone.stop()
  await withGateway(gone.address, async (gw) => {
    await waitFor(() => gw.output().includes('unreachable'))
    expect(logLines(gw).some((l) => l.includes('redis unreachable'))).toBe(true)
    expect(gw.output()).not.toContain('authentication failed')
    expect(await health(gw)).toEqual({ status: 'ok', redis: 'down', redis_failure: 'open' })
  })
}, 30_000)

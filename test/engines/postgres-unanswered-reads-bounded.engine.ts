/**
 * Mutation guard (src/store/postgres/deadlines.ts): every query drizzle sends goes through the client's `unsafe`,
 * so the database deadline on `unsafe` is what bounds a key lookup and an admin read. README: TOLLGATE_DATABASE_TIMEOUT_MS
 * is "how long any Postgres query (a hold, a settlement, /health's check, a key lookup, an admin call, …) waits for
 * Postgres's answer; then it counts as down (503 database_unavailable)". With Postgres answering nothing, a request
 * whose key is not cached yet, and an admin read, must each get that 503 within the deadline, not hang.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway } from '../support/gateway'
import { chat, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay } from './support/tcp-relay'

let pg: TestPostgres
let mock: MockProvider
const DEADLINE = 800

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

test('Postgres answering nothing: an uncached key lookup and an admin read are each refused 503 within the deadline', async () => {
  const url = await pg.database('pg_guard_reads')
  const relay = startTcpRelay(pg.port)
  const gw = await spawnGateway({
    mock,
    config: { pricing: PRICING },
    env: { TOLLGATE_DATABASE_URL: url.replace(`:${pg.port}/`, `:${relay.port}/`), TOLLGATE_DATABASE_TIMEOUT_MS: String(DEADLINE) },
  })
  try {
    // Created, never used: the first request with it looks it up in Postgres.
    const { secret } = await gw.userWithKey({ id: 'fresh', max_budget: 1 })
    mock.reset()
    relay.freeze()
    const bound = DEADLINE + 4_000
    const within = <T>(p: Promise<T>) => Promise.race([p, Bun.sleep(bound).then(() => 'no answer' as const)])
    const started = performance.now()
    const [request, adminRead] = await Promise.all([
      within(chat(gw.url, secret).then(async (r) => `${r.status} ${((await r.json()) as any)?.error?.code}`)),
      within(gw.admin('GET', '/v1/users/fresh').then((r) => `${r.status} ${r.body?.error?.code}`)),
    ])
    const elapsed = performance.now() - started
    expect({ request, adminRead }).toEqual({ request: '503 database_unavailable', adminRead: '503 database_unavailable' })
    expect(elapsed).toBeLessThan(bound)
    expect(mock.calls.filter((c) => c.path === '/v1/chat/completions').length).toBe(0)
  } finally {
    relay.thaw()
    await gw.stop()
    relay.stop()
  }
}, 60_000)

/**
 * Every Postgres query has the database deadline (TOLLGATE_DATABASE_TIMEOUT_MS), not only the reservation
 * and settlement batches: against a Postgres that keeps its connections open and answers nothing (a network
 * black hole), a chat whose key is not cached, the admin API and the console's reads answer 503
 * database_unavailable within about the deadline; the store's own reads and writes (prices, keys, records,
 * sessions, alerts, the sweeper, the request-log and refusal writers, stored response ids) give up at the
 * deadline; and a stop with writes pending ends within its grace instead of waiting on them.
 */
import { DrizzleQueryError } from 'drizzle-orm'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway } from '../support/gateway'
import { GatewayError } from '../../src/http/errors'
import { PostgresStore } from '../../src/store/postgres/store'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay, type TcpRelay } from './support/tcp-relay'

let pg: TestPostgres
let mock: MockProvider
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText, latencyMs: 10 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})
beforeEach(() => mock.reset())

/** A database behind a relay that can be frozen (connections open, nothing forwarded): its URL through the relay. */
async function blackHoleable() {
  const url = await pg.database(`deadlines_${++n}`)
  const relay = startTcpRelay(pg.port)
  return { url, relay, viaRelay: url.replace(`:${pg.port}/`, `:${relay.port}/`) }
}

/**
 * How `p` ended and when: its GatewayError's status and code (drizzle's queries wrap it in a
 * DrizzleQueryError, as they wrap every error of the driver's), 'ok', another error's message, or 'hung' past `bound` ms.
 */
async function outcome(p: Promise<unknown>, bound: number) {
  const started = performance.now()
  const said = (e: unknown) => (e instanceof DrizzleQueryError ? e.cause : e)
  const ended = await Promise.race([
    p.then(
      () => 'ok',
      (e) => (said(e) instanceof GatewayError ? `${(said(e) as GatewayError).status} ${(said(e) as GatewayError).code}` : String((e as Error)?.message ?? e)),
    ),
    Bun.sleep(bound).then(() => 'hung'),
  ])
  return { ended, ms: Math.round(performance.now() - started) }
}

describe('a gateway on a Postgres that stops answering', () => {
  const DEADLINE = 1_000
  const GRACE = 2_000
  const env = (viaRelay: string) => ({
    TOLLGATE_DATABASE_URL: viaRelay,
    TOLLGATE_DATABASE_TIMEOUT_MS: String(DEADLINE),
    TOLLGATE_SHUTDOWN_GRACE_MS: String(GRACE),
  })

  test('a chat with a key not cached yet, and the admin API, answer 503 database_unavailable within about the deadline', async () => {
    const { relay, viaRelay } = await blackHoleable()
    const gw = await spawnGateway({ mock, config: { pricing: PRICING }, env: env(viaRelay) })
    try {
      const { secret } = await gw.userWithKey({ id: 'u', max_budget: 1 })
      // Created, never used: the first request with it looks it up.
      const fresh = await gw.admin('POST', '/v1/keys', { user_id: 'u' })
      expect(fresh.status).toBe(201)
      expect((await chat(gw.url, secret)).status).toBe(200)
      await gw.settled()
      relay.freeze()
      const admin = (method: string, path: string, body?: unknown) =>
        fetch(gw.url + path, {
          method,
          headers: { ...gw.master, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
      const asked: Record<string, () => Promise<Response>> = {
        'chat, key not cached': () => chat(gw.url, fresh.body.key),
        'GET /v1/users': () => admin('GET', '/v1/users'),
        'GET /v1/users/u': () => admin('GET', '/v1/users/u'),
        'GET /v1/keys': () => admin('GET', '/v1/keys'),
        'POST /v1/users': () => admin('POST', '/v1/users', { id: 'v' }),
        'POST /v1/pricing': () => admin('POST', '/v1/pricing', { model: 'mock:other', input_per_million: 1, output_per_million: 1 }),
        'GET /v1/pricing/history': () => admin('GET', '/v1/pricing/history'),
        'GET /v1/usage': () => admin('GET', '/v1/usage'),
        'GET /v1/usage/summary': () => admin('GET', '/v1/usage/summary'),
        'GET /v1/audit': () => admin('GET', '/v1/audit'),
        'GET /v1/alerts': () => admin('GET', '/v1/alerts'),
      }
      const bound = DEADLINE * 8
      const answers = await Promise.all(
        Object.entries(asked).map(async ([name, ask]) => {
          const r = await outcome(
            ask().then(async (res) => {
              const body = (await res.json()) as any
              throw new Error(`${res.status} ${body?.error?.code ?? ''}`.trim())
            }),
            bound,
          )
          return [name, r.ended === 'hung' ? 'hung' : r.ms < DEADLINE * 3 ? r.ended : `${r.ended} after ${r.ms} ms`]
        }),
      )
      expect(Object.fromEntries(answers)).toEqual(Object.fromEntries(Object.keys(asked).map((name) => [name, '503 database_unavailable'])))
      expect(mock.calls.filter((c) => c.path === '/v1/chat/completions').length).toBe(1)
    } finally {
      relay.thaw()
      await gw.stop()
      relay.stop()
    }
  }, 60_000)

  test('a stop with request-log rows pending ends within its grace, not waiting on their writes', async () => {
    const { relay, viaRelay } = await blackHoleable()
    const gw = await spawnGateway({ mock, config: { pricing: PRICING }, env: env(viaRelay) })
    try {
      const { secret } = await gw.userWithKey({ id: 'u', max_budget: 1 })
      expect((await chat(gw.url, secret)).status).toBe(200)
      // The model list read once, so that it is answered from memory (for the cache TTL) once the database is gone.
      expect((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
      await gw.settled()
      relay.freeze()
      // Each answered request queues a request-log row, which cannot be written now.
      for (let i = 0; i < 3; i++) expect((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
      await Bun.sleep(50)
      const started = performance.now()
      gw.proc.kill('SIGTERM')
      const exited = await Promise.race([gw.proc.exited.then(() => 'exited'), Bun.sleep(GRACE + 10_000).then(() => 'hung')])
      const ms = Math.round(performance.now() - started)
      expect({ exited, withinGrace: ms < GRACE + 1_500 }).toEqual({ exited: 'exited', withinGrace: true })
    } finally {
      relay.thaw()
      gw.proc.kill('SIGKILL')
      await gw.stop()
      relay.stop()
    }
  }, 60_000)
})

describe("the Postgres store's queries, the database answering nothing", () => {
  const DEADLINE = 400
  let store: PostgresStore
  let relay: TcpRelay
  beforeEach(async () => {
    const db = await blackHoleable()
    relay = db.relay
    store = await PostgresStore.open(db.viaRelay, () => {}, DEADLINE)
    const now = Date.now()
    await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 1000, 0, ${now}, ${now})`
  })
  afterEach(async () => {
    relay.thaw()
    await store.close()
    relay.stop()
  })

  test('each gives up with 503 database_unavailable within about the deadline; the store then closes within about the deadline', async () => {
    const { users } = store.tables
    const now = Date.now()
    relay.freeze()
    store.appendRequestLog({ createdAt: now, requestId: 'r', method: 'GET', route: '/v1/models', status: 200, latencyMs: 1, clientIp: null, keyId: null, userId: null })
    store.recordResponse({ id: 'resp_1', kind: 'response', user_id: 'u', provider: 'mock', model: 'm', context_tokens: 1, media_parts: 0, context_bytes: 1, holds_audio: false }, now)
    const asked: Record<string, () => Promise<unknown>> = {
      findKey: () => store.findKey('nope'),
      'prices.current': () => store.prices.current(now),
      'prices.nextChange': () => store.prices.nextChange(now),
      'prices.page': () => store.prices.page('', 10, 0, now),
      'prices.ofModel': () => store.prices.ofModel('m', now),
      'prices.insert': async () =>
        store.prices.insert({
          model: 'm', input_per_million: 1, output_per_million: 1, cached_input_per_million: null, per_request: null, cache_write_per_million: null,
          cache_write_1h_per_million: null, audio_input_per_million: null, audio_output_per_million: null, image_output_per_million: null, server_tools: null, service_tiers: null, long_context_above_tokens: null, media_part_tokens: null, context_window_tokens: null, template_overhead_tokens: null,
          created_at: now, source: null,
        }),
      'prices.unprice': () => store.prices.unprice('m', { at: now, inForceFrom: now - 5_000 }),
      'db.select (admin)': async () => store.db.select().from(users),
      'db.update (admin)': async () => store.db.update(users).set({ maxBudget: 5 }),
      updateKey: () => store.updateKey('k', { name: 'x' }, true),
      insertKey: () => store.insertKey({ id: 'k2', userId: 'u', keyHash: 'h2', keyPrefix: 'tg-', createdAt: now, updatedAt: now }),
      deleteUser: () => store.deleteUser('u'),
      'records.run': () => store.records.run('openHolds', undefined as never),
      'sessions.find': () => store.sessions.find(['s']),
      'alerts.claimDue': () => store.alerts.claimDue('ops', now, now + 1000, 10),
      'alerts.insertAll': () => store.alerts.insertAll([{ alert: { id: 'a', dedupeKey: 'd', kind: 'k', subject: 's', payload: '{}', createdAt: now }, webhooks: ['http://x'] }]),
      'refusals.prune': () => store.refusals.prune(0),
      pruneRequestLog: () => store.pruneRequestLog(0),
      findResponse: () => store.findResponse('resp_1', 'response'),
      findResponses: () => store.findResponses(['resp_1', 'item_1'], 'item'),
      openReservations: () => store.openReservations(),
      'ledger.sweepBatch': () => store.ledger.sweepBatch(now, () => ({ cost: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, status: 'error', latencyMs: 0 }), 10, []),
      'ledger.userExists': () => store.ledger.userExists('u'),
      'flush (request log)': () => store.flush(),
    }
    const answers = await Promise.all(
      Object.entries(asked).map(async ([name, ask]) => {
        const r = await outcome(Promise.resolve().then(ask), DEADLINE * 10)
        return [name, r.ended === 'hung' ? 'hung' : r.ms < DEADLINE * 3 ? r.ended : `${r.ended} after ${r.ms} ms`]
      }),
    )
    expect(Object.fromEntries(answers)).toEqual(Object.fromEntries(Object.keys(asked).map((name) => [name, '503 database_unavailable'])))

    store.appendRequestLog({ createdAt: now, requestId: 'r2', method: 'GET', route: '/v1/models', status: 200, latencyMs: 1, clientIp: null, keyId: null, userId: null })
    const closed = await outcome(store.close(), DEADLINE * 10 + 6_000)
    expect(closed.ended).toBe('ok')
    expect(closed.ms).toBeLessThan(DEADLINE * 3)
  }, 60_000)
})

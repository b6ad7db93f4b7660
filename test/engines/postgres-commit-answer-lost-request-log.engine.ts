/**
 * A reservation batch carries the request-log rows queued since the last one (they ride in its transaction,
 * README "One flush for everything of a turn"). When its COMMIT committed on the server but the answer was
 * lost with the connection, its caller is refused, and the rows it carried are not sent again: they may be
 * written already, and SPEC §8 wants one api_request_log row per /v1/* request. (Its settlements are sent
 * again: a hold settles once.) postgres-commit-answer-lost.engine.ts covers the hold itself.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay } from './support/tcp-relay'

const COMMIT = new TextEncoder().encode('COMMIT\0')
const hasCommit = (b: Uint8Array) => {
  outer: for (let i = 0; i + COMMIT.length <= b.length; i++) {
    for (let j = 0; j < COMMIT.length; j++) if (b[i + j] !== COMMIT[j]) continue outer
    if (i >= 5 && b[i - 5] === 0x43) return true
  }
  return false
}
function commitCutter(target: number) {
  let armed = false
  let cut = 0
  const relay = startTcpRelay(target, {
    onServerChunk(chunk) {
      if (!armed || !hasCommit(chunk)) return
      armed = false
      cut++
      return 'cut'
    },
  })
  return { port: relay.port, arm: () => (armed = true), cuts: () => cut, stop: relay.stop }
}

let pg: TestPostgres
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

describe('a reservation batch that committed but whose answer was lost: the request-log rows it carried', () => {
  let store: PostgresStore
  let direct: InstanceType<typeof Bun.SQL>
  let proxy: ReturnType<typeof commitCutter>
  let ledger: Ledger
  beforeEach(async () => {
    const url = await pg.database(`commit_lost_log_${++n}`)
    proxy = commitCutter(pg.port)
    store = await PostgresStore.open(url.replace(`:${pg.port}/`, `:${proxy.port}/`), () => {}, 2_000)
    direct = new Bun.SQL(url)
    ledger = new Ledger(store.ledger, 60_000)
    const now = Date.now()
    await direct`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 1000, 0, ${now}, ${now})`
  })
  afterEach(async () => {
    await store.close().catch(() => {})
    await direct.close()
    proxy.stop()
  })

  test('each request is logged once, not written again after the lost answer', async () => {
    const first = await ledger.reserve(holdFor('u', 100))
    first.release(1)
    await ledger.flush()
    // Queued in the same turn as the next hold: it rides in that reservation batch.
    store.appendRequestLog({ createdAt: Date.now(), requestId: 'req-once', method: 'POST', route: '/v1/chat/completions', status: 503, latencyMs: 1, clientIp: null, keyId: null, userId: 'u' })
    proxy.arm()
    const refused = await ledger.reserve(holdFor('u', 200)).then(() => null, (e) => String(e?.message ?? e))
    expect(proxy.cuts()).toBe(1)
    expect(refused).not.toBeNull()
    for (let i = 0; i < 20; i++) {
      await store.flush().catch(() => {})
      await Bun.sleep(50)
    }
    const [{ rows }] = await direct`SELECT count(*)::int AS rows FROM api_request_log WHERE request_id = 'req-once'`
    // One row: the committed one, not written a second time.
    expect(rows).toBe(1)
  }, 30_000)
})

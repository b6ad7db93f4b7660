/**
 * The daily usage rollups: kept equal to the raw rows whatever writes them (settlements, the sweeper's expired
 * charge, raw inserts), backfilled by their migration for an install that already has usage rows, and the
 * summary, totals and per-day charts that read them answer exactly what a GROUP BY over the raw rows answers,
 * for ranges that start and end mid-day and under every filter.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { Database } from 'bun:sqlite'
import { Hold } from '../src/budget/hold'
import { expiredOutcome, Ledger, type HoldRequest } from '../src/budget/ledger'
import { MIGRATIONS, openDatabase, type Db } from '../src/db/open'
import * as schema from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'
import { GatewayError } from '../src/http/errors'
import { recordsQueries, type RecordsSource, type UsageFilterValues } from '../src/records/usage-queries'
import { SqliteLedgerStore } from '../src/store/sqlite/ledger-store'
import { tempDir } from './support/gateway'
import { seededRandom } from './support/seeded'

const DAY_MS = 86_400_000
const TTL = 60_000
const STATUSES = ['ok', 'error', 'aborted', 'expired'] as const
const USERS = ['alice', 'bob', 'carol']
const KEYS: Record<string, Array<string | null>> = { alice: ['ka1', 'ka2'], bob: ['kb1', null], carol: ['kc1'] }
const MODELS = ['mock:a', 'mock:b', 'other:c']
/** Noon UTC, five days before the rows' last day: every range the tests draw lies around these days. */
const BASE = Math.floor(Date.UTC(2026, 10, 20) / DAY_MS) * DAY_MS

let dir: string
let db: Db

const insertRaw = (client: Database, row: { at: number; user: string; key: string | null; model: string; status: string; prompt: number; completion: number; cached: number; cost: number }) =>
  client
    .query(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
       VALUES (?, ?, ?, ?, ?, ?, '/v1/chat/completions', ?, ?, ?, ?, 0, ?)`,
    )
    .run(crypto.randomUUID(), row.at, row.user, row.key, row.model, row.model.split(':')[0]!, row.prompt, row.completion, row.cached, row.cost, row.status)

/** Usage rows over seven days, many at the very edges of a day, from a seeded generator. */
function insertRandomRows(client: Database, n: number, random: () => number) {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!
  client.transaction(() => {
    for (let i = 0; i < n; i++) {
      const day = BASE + Math.floor(random() * 7) * DAY_MS
      const r = random()
      const at = r < 0.1 ? day : r < 0.2 ? day + DAY_MS - 1 : day + Math.floor(random() * DAY_MS)
      const user = pick(USERS)
      insertRaw(client, {
        at, user, key: pick(KEYS[user]!), model: pick(MODELS), status: pick(STATUSES),
        prompt: Math.floor(random() * 1000), completion: Math.floor(random() * 500), cached: Math.floor(random() * 100), cost: Math.floor(random() * 10_000),
      })
    }
  })()
}

const RAW_SUMS = 'count(*) AS requests, sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens, sum(cost) AS cost'
const ROLLUP_SUMS = 'sum(requests) AS requests, sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens, sum(cost) AS cost'

/** Each rollup next to the same groups summed from the raw rows. */
function rollupsAndRaw(client: Database) {
  const q = (sql: string) => client.query(sql).all()
  return [
    [
      q(`SELECT day, user_id, key_id, model, status, ${ROLLUP_SUMS} FROM usage_daily GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`),
      q(`SELECT created_at / 86400000 AS day, user_id, coalesce(key_id, '') AS key_id, model, status, ${RAW_SUMS} FROM usage GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5`),
    ],
    [
      q(`SELECT day, model, status, ${ROLLUP_SUMS} FROM usage_daily_models GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
      q(`SELECT created_at / 86400000 AS day, model, status, ${RAW_SUMS} FROM usage GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
    ],
    [
      q(`SELECT day, user_id, status, ${ROLLUP_SUMS} FROM usage_daily_users GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
      q(`SELECT created_at / 86400000 AS day, user_id, status, ${RAW_SUMS} FROM usage GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
    ],
  ]
}

function expectRollupsEqualRaw(client: Database) {
  for (const [rollup, raw] of rollupsAndRaw(client)) {
    expect(raw!.length).toBeGreaterThan(0)
    expect(rollup).toEqual(raw!)
  }
}

beforeEach(() => {
  dir = tempDir()
  db = openDatabase(join(dir, 'tollgate.db'))
})
afterEach(() => {
  db.$client.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the rollups are kept with every usage row', () => {
  test('settlements of every status, the sweeper\'s expired charges and raw inserts', () => {
    const now = Date.now()
    for (const id of USERS) db.insert(schema.users).values({ id, periodStart: 0, createdAt: now, updatedAt: now }).run()
    for (const [user, keys] of Object.entries(KEYS))
      for (const id of keys) if (id) db.insert(schema.apiKeys).values({ id, userId: user, keyHash: id, keyPrefix: 'tg-x', createdAt: now, updatedAt: now }).run()
    const queueErrors: unknown[] = []
    const writes = new WriteQueue(db.$client, (e) => queueErrors.push(e))
    const store = new SqliteLedgerStore(db.$client, writes)
    const ledger = new Ledger(store, TTL)
    const random = seededRandom(7)
    const request = (userId: string, keyId: string | null, model: string): HoldRequest => ({
      requestId: crypto.randomUUID(), userId, keyId, keyHash: keyId, amount: 5_000, model, provider: model.split(':')[0]!, endpoint: '/v1/chat/completions', priceId: null, stream: false,
    })
    const holds: Hold[] = []
    for (let i = 0; i < 60; i++) {
      const user = USERS[i % USERS.length]!
      const taken = store.reserveNow(request(user, KEYS[user]![i % KEYS[user]!.length]!, MODELS[i % MODELS.length]!), now, TTL)
      if (taken instanceof GatewayError) throw taken
      holds.push(new Hold(ledger, taken))
    }
    // A third settled (ok, error, aborted), a third released, a third left to the sweeper.
    holds.forEach((h, i) => {
      if (i % 3 === 0)
        h.settle({ cost: 1 + Math.floor(random() * 4_000), promptTokens: 10 + i, completionTokens: i, cachedTokens: i % 4, status: (['ok', 'error', 'aborted'] as const)[i % 9 / 3 | 0]!, latencyMs: 1 })
      else if (i % 3 === 1) h.release(1, i % 2 ? 'error' : 'aborted')
    })
    writes.flush()
    expect(store.sweepNow(now + TTL + 1, expiredOutcome)).toBe(20)
    insertRandomRows(db.$client, 300, random)
    writes.close()
    expect(queueErrors).toEqual([])
    expect((db.$client.query("SELECT count(*) AS n FROM usage WHERE status = 'expired' AND cost = 5000").get() as { n: number }).n).toBeGreaterThanOrEqual(20)
    expectRollupsEqualRaw(db.$client)
  })

  test('the migration that makes them sums the usage rows an install already has', () => {
    // An install at migration 0002 (the last before the rollups), with usage rows.
    const old = join(dir, 'old')
    const folder = join(dir, 'migrations-0002')
    mkdirSync(join(folder, 'meta'), { recursive: true })
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8'))
    journal.entries = journal.entries.filter((e: { idx: number }) => e.idx <= 2)
    writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify(journal))
    for (const e of journal.entries) cpSync(join(MIGRATIONS, `${e.tag}.sql`), join(folder, `${e.tag}.sql`))
    const client = new Database(old, { strict: true })
    migrate(drizzle({ client }), { migrationsFolder: folder })
    expect(client.query("SELECT name FROM sqlite_master WHERE name = 'usage_daily'").all()).toEqual([])
    insertRandomRows(client, 500, seededRandom(11))
    client.close()

    const upgraded = openDatabase(old)
    try {
      expectRollupsEqualRaw(upgraded.$client)
      // And from then on the trigger keeps them.
      insertRandomRows(upgraded.$client, 100, seededRandom(12))
      expectRollupsEqualRaw(upgraded.$client)
    } finally {
      upgraded.$client.close()
    }
  })
})

describe('summary, totals and per-day charts equal a GROUP BY over the raw rows', () => {
  const source = (): RecordsSource => ({ db: db as RecordsSource['db'], tables: schema })
  const num = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]))

  /** The usage filter as raw SQL, as the summary read it before the rollups. */
  const rawWhere = (f: UsageFilterValues) => {
    const clauses: string[] = ['1 = 1']
    const params: Array<string | number> = []
    for (const [column, value] of [['user_id', f.user_id], ['key_id', f.key_id], ['status', f.status]] as const)
      if (value !== undefined) (clauses.push(`${column} = ?`), params.push(value))
    if (f.models !== undefined) (clauses.push(`model IN (${f.models.map(() => '?').join(', ')})`), params.push(...f.models))
    if (f.since !== undefined) (clauses.push('created_at >= ?'), params.push(f.since))
    if (f.until !== undefined) (clauses.push('created_at < ?'), params.push(f.until))
    return { where: clauses.join(' AND '), params }
  }
  const rawSummary = (f: UsageFilterValues) => {
    const { where, params } = rawWhere(f)
    return db.$client
      .query(
        `SELECT strftime('%Y-%m-%d', created_at / 1000, 'unixepoch') AS day, user_id, model, ${RAW_SUMS}
           FROM usage WHERE ${where} GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3`,
      )
      .all(...params)
      .map((r) => num(r as Record<string, unknown>)) as any[]
  }
  const rawTotals = (f: UsageFilterValues) => {
    const { where, params } = rawWhere(f)
    const t = db.$client.query(`SELECT ${RAW_SUMS} FROM usage WHERE ${where}`).get(...params) as Record<string, number | null>
    return { requests: t.requests ?? 0, prompt_tokens: t.prompt_tokens ?? 0, completion_tokens: t.completion_tokens ?? 0, cached_tokens: t.cached_tokens ?? 0, cost: (t.cost ?? 0) / 1e6 }
  }
  const rawPerDay = (by: 'model' | 'user', fromDay: number, toDay: number, f: UsageFilterValues) => {
    // The days asked for, cut by the filter's own times where they fall inside them.
    const since = Math.max(fromDay * DAY_MS, f.since ?? -Infinity)
    const until = Math.min((toDay + 1) * DAY_MS, f.until ?? Infinity)
    const { where, params } = rawWhere({ ...f, since, until })
    const column = by === 'user' ? 'user_id' : 'model'
    return db.$client
      .query(`SELECT created_at / 86400000 AS day, ${column} AS name, count(*) AS requests, sum(cost) AS cost FROM usage WHERE ${where} GROUP BY 1, 2 ORDER BY 1, 2`)
      .all(...params)
  }
  const byDayAndName = (rows: Array<{ day: number; name: string | null }>) =>
    [...rows].sort((a, b) => a.day - b.day || ((a.name ?? '~') < (b.name ?? '~') ? -1 : (a.name ?? '~') > (b.name ?? '~') ? 1 : 0))
  /** The raw per-day rows with only the `top` dearest names kept (cost, then name), the rest summed per day under null. */
  const keepTop = (rows: Array<{ day: number; name: string; requests: number; cost: number }>, top: number) => {
    const totals = new Map<string, number>()
    for (const r of rows) totals.set(r.name, (totals.get(r.name) ?? 0) + r.cost)
    const kept = new Set([...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top).map(([name]) => name))
    const out: Array<{ day: number; name: string | null; requests: number; cost: number }> = rows.filter((r) => kept.has(r.name))
    const rest = new Map<number, { day: number; name: null; requests: number; cost: number }>()
    for (const r of rows)
      if (!kept.has(r.name)) {
        const d = rest.get(r.day) ?? { day: r.day, name: null, requests: 0, cost: 0 }
        d.requests += r.requests
        d.cost += r.cost
        rest.set(r.day, d)
      }
    return byDayAndName([...out, ...rest.values()])
  }

  /** Every page of the summary, walked by cursor and by offset. */
  async function everyPage(f: UsageFilterValues, limit: number) {
    const byCursor: unknown[] = []
    let after: { day: string; userId: string; model: string } | undefined
    for (;;) {
      const rows = await recordsQueries.usageSummaryRows(source(), { ...f, limit, after })
      byCursor.push(...rows.slice(0, limit))
      if (rows.length <= limit) break
      const last = rows[limit - 1]!
      after = { day: last.day, userId: last.user_id, model: last.model }
    }
    const byOffset: unknown[] = []
    for (let offset = 0; ; offset += limit) {
      const rows = await recordsQueries.usageSummaryRows(source(), { ...f, limit, offset })
      byOffset.push(...rows.slice(0, limit))
      if (rows.length <= limit) break
    }
    return { byCursor, byOffset }
  }

  test('random ranges (whole days, partial days, within a day, open ends) under every filter', async () => {
    const random = seededRandom(2026)
    insertRandomRows(db.$client, 2_000, random)
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!
    /** A time around the rows' days: often on a day boundary, often a millisecond off one. */
    const time = () => {
      const day = BASE + Math.floor(random() * 9 - 1) * DAY_MS
      return pick([day, day + 1, day - 1, day + Math.floor(random() * DAY_MS)])
    }
    for (let round = 0; round < 60; round++) {
      const f: UsageFilterValues = {}
      if (random() < 0.3) f.user_id = pick(USERS)
      if (random() < 0.2) f.key_id = pick(['ka1', 'ka2', 'kb1', 'kc1'])
      if (random() < 0.3) f.models = random() < 0.5 ? [pick(MODELS)] : [pick(MODELS), pick(MODELS)]
      if (random() < 0.2) f.status = pick(STATUSES)
      if (random() < 0.7) f.since = time()
      if (random() < 0.7) f.until = time()
      if (round === 0) (delete f.since, delete f.until)
      const label = JSON.stringify(f)
      const expected = rawSummary(f)
      const { byCursor, byOffset } = await everyPage(f, 1 + Math.floor(random() * 40))
      expect({ label, rows: byCursor }).toEqual({ label, rows: expected })
      expect({ label, rows: byOffset }).toEqual({ label, rows: expected })
      expect({ label, totals: await recordsQueries.usageTotals(source(), f) }).toEqual({ label, totals: rawTotals(f) })
      const fromDay = BASE / DAY_MS + Math.floor(random() * 6) - 1
      const toDay = fromDay + Math.floor(random() * 5)
      for (const by of ['model', 'user'] as const) {
        const raw = rawPerDay(by, fromDay, toDay, f) as Array<{ day: number; name: string; requests: number; cost: number }>
        expect({ label, by, rows: byDayAndName(await recordsQueries.usagePerDay(source(), { by, fromDay, toDay, filter: f })) }).toEqual({ label, by, rows: raw })
        const top = 1 + Math.floor(random() * 3)
        expect({ label, by, top, rows: byDayAndName(await recordsQueries.usagePerDay(source(), { by, fromDay, toDay, filter: f, top })) }).toEqual({
          label, by, top, rows: keepTop(raw, top),
        })
      }
    }
  })

  test('an offset past the partial last day and past the whole days lands in the right group', async () => {
    insertRandomRows(db.$client, 1_500, seededRandom(99))
    const f = { since: BASE + 3_600_000, until: BASE + 5 * DAY_MS + 7_200_000 }
    const expected = rawSummary(f)
    const lastDay = expected.filter((r) => r.day === expected[0]!.day).length
    const firstDay = expected.filter((r) => r.day === expected.at(-1)!.day).length
    for (const offset of [0, lastDay - 1, lastDay, lastDay + 1, expected.length - firstDay - 1, expected.length - firstDay, expected.length - 1, expected.length, expected.length + 5])
      expect({ offset, rows: await recordsQueries.usageSummaryRows(source(), { ...f, limit: 3, offset }) }).toEqual({ offset, rows: expected.slice(offset, offset + 4) })
  })
})

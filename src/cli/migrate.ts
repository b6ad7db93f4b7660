import { count, getTableColumns, getTableName, inArray, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/bun-sql'
import { postgresUrlProblem, withPassword } from '../config/client-urls'
import { urlGivenAsPath, withoutPathPasswords } from '../config/sqlite-path'
import type { Db } from '../db/open'
import { beginReadSnapshot, openToRead, type ReadSnapshot } from '../db/open-to-read'
import * as sqliteTables from '../db/schema'
import { MAX_RECORDED_LATENCY_MS, recordedLatency } from '../records/latency'
import { MAX_TOKEN_COUNT, recordedCount } from '../records/token-count'
import { sqlStateOf, withStorableText } from '../store/postgres/batch'
import { PostgresStore } from '../store/postgres/store'
import * as pgTables from '../store/postgres/schema'
import { parseArgs, UsageError, type Args } from './args'
import { AlertMerge } from './migrate-alert-merge'

/** Every table, parents before children (foreign keys), with the identity column Postgres must carry on from. */
const TABLES = [
  ['users', null],
  ['apiKeys', null],
  ['prices', 'id'],
  ['reservations', null],
  ['usage', 'id'],
  ['apiRequestLog', 'id'],
  ['storedResponses', null],
  ['alerts', null],
  ['alertDeliveries', null],
  ['consoleSessions', null],
  ['refusalCounts', null],
  ['unpricedModels', null],
] as const

const CHUNK = 500

export const MIGRATE_USAGE =
  'usage: tollgate migrate [--to postgres://…] [--from path/to/tollgate.db]  (default --to: $TOLLGATE_DATABASE_URL; default --from: $TOLLGATE_DB or ./data/tollgate.db)'

/**
 * `tollgate migrate [--to postgres://…]`: copies a SQLite install, every row of every table, into an empty
 * Postgres database (its schema applied first), in one transaction: it lands whole or not at all. Ids are
 * kept (usage rows cite their price row by id), and the id sequences carry on after them. The gateway must
 * be stopped while it runs, so that no row is written to the file after it was read. A row an older version
 * wrote that Postgres cannot hold as it is goes over as the Postgres store would have written it (storableRow),
 * and is counted in the report; any failure is reported in a line, with nothing written.
 */
export async function runMigrate(argv: string[], env = process.env): Promise<number> {
  let options: { to: string; from: string }
  try {
    const args = parseArgs(argv, new Set(['help']))
    if (args.switches.has('help')) return print(MIGRATE_USAGE, 0)
    options = migrateOptions(args, env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    return fail(`${error.message}\n${MIGRATE_USAGE}`, 2)
  }
  const { to, from } = options

  // The file is only read, and only if this version's schema is all there (see openToRead); the target has
  // its migrations applied. Either database migrated by a newer version is refused, as the gateway refuses it.
  let source: Db | undefined
  let target: PostgresStore
  let snapshot: ReadSnapshot
  try {
    source = openToRead(from)
    snapshot = beginReadSnapshot(source, from)
    refuseOpenHolds(source)
    target = await PostgresStore.open(to)
  } catch (error) {
    source?.$client.close()
    return fail(`tollgate: ${withoutPathPasswords(messageOf(error), from)}; nothing was written`, 1)
  }
  try {
    const db = drizzle({ client: target.sql, schema: pgTables })
    const alertMerge = new AlertMerge(source)
    const counts: Record<string, number> = {}
    const changed: Record<string, Changes> = {}
    await db.transaction(async (tx) => {
      // The store's sessions end a transaction left idle past the deadline; this one reads the file between its inserts.
      await tx.execute(sql`SET LOCAL idle_in_transaction_session_timeout = 0`)
      for (const [name] of TABLES) {
        const [{ n }] = (await tx.execute(sql`SELECT count(*)::int AS n FROM ${pgTables[name]}`)) as unknown as [{ n: number }]
        if (n > 0) throw new MigrateError(`the target database is not empty (${name} has ${n} rows); migrate into a new database`)
      }
      for (const [name, identity] of TABLES) {
        const changes = (changed[tableName(name)] = { text: 0, latency: 0, count: 0, merged: 0 })
        // A page at a time, in rowid order, so that a table of millions of rows is never all in memory.
        const table = sqliteTables[name] as typeof sqliteTables.users
        const columns = { ...getTableColumns(table), rowid: sql<number>`rowid` }
        let copied = 0
        for (let after: number | null = null; ; ) {
          const page = source.select(columns).from(table).where(after === null ? undefined : sql`rowid > ${after}`).orderBy(sql`rowid`).limit(CHUNK).all()
          if (page.length === 0) break
          after = page.at(-1)!.rowid
          const rows = page.flatMap(({ rowid, ...row }) => {
            const kept = mergedAlertRow(alertMerge, name, storableRow(row, changes))
            if (kept === null) changes.merged++
            return kept === null ? [] : [kept]
          })
          if (rows.length > 0)
            await insertPage(tx, name, rows, changes).catch((error) => {
              throw new MigrateError(`${tableName(name)}: Postgres refused rows ${copied + 1}–${copied + page.length}: ${messageOf(error)}`)
            })
          copied += page.length
        }
        const { n } = source.select({ n: count() }).from(table).get()!
        if (copied !== n) throw new MigrateError(`${tableName(name)}: read ${copied} rows of ${n}`)
        if (identity && copied > 0)
          await tx.execute(sql`SELECT setval(pg_get_serial_sequence(${tableName(name)}, ${identity}), (SELECT max(${sql.identifier(identity)}) FROM ${pgTables[name]}))`)
        counts[tableName(name)] = copied - changes.merged
      }
      // Read back inside the transaction: every table holds exactly what the file held, or nothing is committed.
      for (const [name] of TABLES) {
        const [{ n }] = (await tx.execute(sql`SELECT count(*)::int AS n FROM ${pgTables[name]}`)) as unknown as [{ n: number }]
        if (n !== counts[tableName(name)]) throw new MigrateError(`${tableName(name)}: copied ${n} rows of ${counts[tableName(name)]}`)
      }
      // The copy is of the moment the snapshot began: a gateway that wrote to the file since would lose those writes.
      if (snapshot.end().changed) throw new MigrateError('the SQLite file changed while it was read (a gateway running on it?): stop the gateway, and migrate again')
    })
    console.log(`migrated ${from} to Postgres:`)
    for (const [table, n] of Object.entries(counts)) console.log(`  ${table.padEnd(18)} ${n}${changesNote(changed[table]!)}`)
    console.log('Start the gateway with TOLLGATE_DATABASE_URL set to the same URL.')
    return 0
  } catch (error) {
    return fail(`tollgate: ${messageOf(error)}; nothing was written`, 1)
  } finally {
    source.$client.close()
    await target.close()
  }
}

/**
 * `--to` and `--from`, the only options migrate takes. Without `--to` the URL is TOLLGATE_DATABASE_URL's: the URL
 * carries the password, which an argument would show in `ps` and the shell's history. TOLLGATE_DATABASE_PASSWORD,
 * when set, is the target's password, whichever names it, as for the gateway. Without `--from` the file is
 * TOLLGATE_DB's, refused as the gateway refuses it when it is a URL or a connection string (the Postgres database
 * in the wrong variable).
 */
function migrateOptions(args: Args, env: NodeJS.ProcessEnv): { to: string; from: string } {
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`)
  for (const name of args.options.keys()) if (name !== 'to' && name !== 'from') throw new UsageError(`unknown option --${name}`)
  const given = args.options.get('to')
  const to = given ?? (env.TOLLGATE_DATABASE_URL || undefined)
  if (to === undefined) throw new UsageError('the target is required: set TOLLGATE_DATABASE_URL, or give --to')
  const source = given === undefined ? 'TOLLGATE_DATABASE_URL' : '--to'
  if (!/^postgres(ql)?:\/\/.+/.test(to)) throw new UsageError(`${source} must be a postgres:// URL`)
  const refusal = postgresUrlProblem(to)
  if (refusal) throw new UsageError(`${source}: the Postgres client refuses it: ${refusal}`)
  const password = env.TOLLGATE_DATABASE_PASSWORD
  if (password !== undefined && password.trim() === '') throw new UsageError('TOLLGATE_DATABASE_PASSWORD is empty; give the password, or unset it')
  const givenFrom = args.options.get('from')
  const from = givenFrom ?? env.TOLLGATE_DB ?? './data/tollgate.db'
  const notAPath = urlGivenAsPath(from)
  if (notAPath) throw new UsageError(`${givenFrom === undefined ? 'TOLLGATE_DB' : '--from'} ${notAPath}`)
  return { to: password === undefined ? to : withPassword(to, password), from }
}

class MigrateError extends Error {}

/**
 * A hold not yet expired is a request under way: a gateway still serving it settles it on the file at its real
 * cost, while the copy's sweeper would charge it in full as expired. A gateway writes nothing while its streams
 * run, so the snapshot's check (a write meanwhile) would not see it. A clean stop settles every hold; a crashed
 * gateway's holds are carried once expired, for the new install's sweeper, as its own sweeper would have charged them.
 */
function refuseOpenHolds(source: Db): void {
  const now = Date.now()
  const open = source
    .select({ n: count(), until: sql<number | null>`max(${sqliteTables.reservations.expiresAt})` })
    .from(sqliteTables.reservations)
    .where(sql`${sqliteTables.reservations.expiresAt} > ${now}`)
    .get()!
  if (open.n === 0) return
  throw new MigrateError(
    `the SQLite file has ${open.n} open hold${open.n === 1 ? '' : 's'} (requests under way): stop the gateway (a clean stop settles every hold) and migrate again; ` +
      `if it crashed, migrate after ${new Date(open.until!).toISOString()}, when they have expired (the new install's sweeper charges them)`,
  )
}

const tableName = (name: (typeof TABLES)[number][0]) => getTableName(pgTables[name])

/** Rows of a table changed on the way over, by what storableRow changed in them, and those merged into another. */
interface Changes {
  text: number
  latency: number
  count: number
  merged: number
}

/** The token counts of a usage row and a stored Responses id, and the context size of the latter. */
const COUNT_COLUMNS = ['promptTokens', 'completionTokens', 'cachedTokens', 'cacheWriteTokens', 'contextTokens', 'contextBytes'] as const

/**
 * A row as the Postgres store writes it: text with a NUL in it as the store makes it storable (U+FFFD), a
 * latency as recordedLatency bounds it, and a count as recordedCount does. Older versions wrote all three to
 * SQLite, which keeps them: model names with a NUL before the registry refused one, a hold's age, unbounded,
 * when the sweeper found it late, and a provider's token count as it came (1e19 is past a bigint; two of 5e18
 * overflow the rollup trigger's sum).
 */
function storableRow(row: Record<string, unknown>, changes: Changes): Record<string, unknown> {
  let out = withStorableText(row)
  if (out !== row) changes.text++
  if (typeof out.latencyMs === 'number' && recordedLatency(out.latencyMs) !== out.latencyMs) {
    out = { ...out, latencyMs: recordedLatency(out.latencyMs) }
    changes.latency++
  }
  const counted = out
  for (const column of COUNT_COLUMNS) {
    const n = counted[column]
    if (typeof n === 'number' && recordedCount(n) !== n) out = { ...out, [column]: recordedCount(n) }
  }
  if (out !== counted) changes.count++
  return out
}

/** An alert or a delivery row as AlertMerge keeps it (null: merged into another); any other table's row as it is. */
function mergedAlertRow(merge: AlertMerge, name: (typeof TABLES)[number][0], row: Record<string, unknown>): Record<string, unknown> | null {
  if (name === 'alerts') return merge.alert(row as { id: string })
  if (name === 'alertDeliveries') return merge.delivery(row as { alertId: string; webhook: string })
  return row
}

type Target = Pick<ReturnType<typeof drizzle<typeof pgTables>>, 'select' | 'insert'>
type UnpricedModel = typeof pgTables.unpricedModels.$inferInsert

/** A page of a table's rows, as storableRow made them, into the target. */
function insertPage(tx: Target, name: (typeof TABLES)[number][0], rows: Record<string, unknown>[], changes: Changes): Promise<unknown> {
  if (name === 'unpricedModels') return insertMergingNames(tx, rows as UnpricedModel[], changes)
  return tx.insert(pgTables[name] as typeof pgTables.users).values(rows as (typeof pgTables.users.$inferInsert)[])
}

/**
 * Unpriced models, keyed by a name that storableRow may have made another's: an older version's `mock:x\0y` and
 * a later `mock:x\uFFFDy` are two rows in SQLite and one name in Postgres. Counted into one row as the Postgres
 * store counts both names (it makes the name storable before its upsert): the requests added up, the first and
 * the last sightings kept. Counted in the report as merged.
 */
async function insertMergingNames(tx: Target, rows: UnpricedModel[], changes: Changes): Promise<void> {
  const byName = new Map<string, UnpricedModel>()
  for (const row of rows) {
    const seen = byName.get(row.model)
    if (!seen) byName.set(row.model, row)
    else {
      byName.set(row.model, mergedSightings(seen, row))
      changes.merged++
    }
  }
  const t = pgTables.unpricedModels
  const [{ n }] = (await tx.select({ n: count() }).from(t).where(inArray(t.model, [...byName.keys()]))) as [{ n: number }]
  changes.merged += n
  await tx
    .insert(t)
    .values([...byName.values()])
    .onConflictDoUpdate({
      target: t.model,
      set: {
        requests: sql`${t.requests} + excluded.requests`,
        firstSeenAt: sql`least(${t.firstSeenAt}, excluded.first_seen_at)`,
        lastSeenAt: sql`greatest(${t.lastSeenAt}, excluded.last_seen_at)`,
      },
    })
}

const mergedSightings = (a: UnpricedModel, b: UnpricedModel): UnpricedModel => ({
  model: a.model,
  requests: a.requests + b.requests,
  firstSeenAt: Math.min(a.firstSeenAt, b.firstSeenAt),
  lastSeenAt: Math.max(a.lastSeenAt, b.lastSeenAt),
})

function changesNote({ text, latency, count, merged }: Changes): string {
  const notes = [
    ...(text > 0 ? [`${text} with a NUL in its text, written as U+FFFD`] : []),
    ...(latency > 0 ? [`${latency} with a latency outside 0–${MAX_RECORDED_LATENCY_MS} ms, written as its bound`] : []),
    ...(count > 0 ? [`${count} with a count over ${MAX_TOKEN_COUNT.toLocaleString('en-US')}, written as that`] : []),
    ...(merged > 0 ? [`${merged} merged into the row of the name it became`] : []),
  ]
  return notes.length > 0 ? `  (changed to fit Postgres: ${notes.join('; ')})` : ''
}

/**
 * What went wrong, in a line: the driver's own message and its code (a SQLSTATE, ERR_POSTGRES_CONNECTION_REFUSED),
 * not the query text with its parameters that drizzle wraps it in.
 */
function messageOf(error: unknown): string {
  if (error instanceof MigrateError) return error.message
  const cause = (error as { cause?: unknown } | null)?.cause
  const e = (cause instanceof Error ? cause : error) as { message?: unknown; code?: unknown }
  const state = sqlStateOf(error)
  const code = /^[0-9A-Z]{5}$/.test(state) ? `SQLSTATE ${state}` : typeof e?.code === 'string' ? e.code : ''
  return `${typeof e?.message === 'string' ? e.message : String(e)}${code ? ` (${code})` : ''}`
}

function fail(message: string, code: number): number {
  console.error(message)
  return code
}

function print(message: string, code: number): number {
  console.log(message)
  return code
}

import { getTableName, sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/bun-sql'
import { SchemaNewerError } from '../db/newer-schema'
import { openDatabase, type Db } from '../db/open'
import * as sqliteTables from '../db/schema'
import { PostgresStore } from '../store/postgres/store'
import * as pgTables from '../store/postgres/schema'

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

export const MIGRATE_USAGE = 'usage: tollgate migrate --to postgres://… [--from path/to/tollgate.db]  (default --from: $TOLLGATE_DB or ./data/tollgate.db)'

/**
 * `tollgate migrate --to postgres://…`: copies a SQLite install, every row of every table, into an empty
 * Postgres database (its schema applied first), in one transaction: it lands whole or not at all. Ids are
 * kept (usage rows cite their price row by id), and the id sequences carry on after them. The gateway must
 * be stopped while it runs, so that no row is written to the file after it was read.
 */
export async function runMigrate(argv: string[], env = process.env): Promise<number> {
  const args = new Map<string, string>()
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]]
    if ((flag !== '--to' && flag !== '--from') || value === undefined) return fail(MIGRATE_USAGE, 2)
    args.set(flag, value)
  }
  const to = args.get('--to')
  if (!to || !/^postgres(ql)?:\/\/.+/.test(to)) return fail(MIGRATE_USAGE, 2)
  const from = args.get('--from') ?? env.TOLLGATE_DB ?? './data/tollgate.db'
  if (from === ':memory:' || !(await Bun.file(from).exists())) return fail(`tollgate: no SQLite database at ${from}`, 1)

  // Opening applies the committed migrations, so an install from an older version is brought up to date first;
  // either database migrated by a newer version is refused, as the gateway refuses it.
  let source: Db | undefined
  let target: PostgresStore
  try {
    source = openDatabase(from)
    target = await PostgresStore.open(to)
  } catch (error) {
    source?.$client.close()
    if (error instanceof SchemaNewerError) return fail(`tollgate: ${error.message}; nothing was written`, 1)
    throw error
  }
  try {
    const db = drizzle({ client: target.sql, schema: pgTables })
    const counts: Record<string, number> = {}
    await db.transaction(async (tx) => {
      for (const [name] of TABLES) {
        const [{ n }] = (await tx.execute(sql`SELECT count(*)::int AS n FROM ${pgTables[name]}`)) as unknown as [{ n: number }]
        if (n > 0) throw new MigrateError(`the target database is not empty (${name} has ${n} rows); migrate into a new database`)
      }
      for (const [name, identity] of TABLES) {
        const rows = source.select().from(sqliteTables[name] as typeof sqliteTables.users).all() as Record<string, unknown>[]
        for (let i = 0; i < rows.length; i += CHUNK)
          await tx.insert(pgTables[name] as typeof pgTables.users).values(rows.slice(i, i + CHUNK) as (typeof pgTables.users.$inferInsert)[])
        if (identity && rows.length > 0)
          await tx.execute(sql`SELECT setval(pg_get_serial_sequence(${tableName(name)}, ${identity}), (SELECT max(${sql.identifier(identity)}) FROM ${pgTables[name]}))`)
        counts[tableName(name)] = rows.length
      }
      // Read back inside the transaction: every table holds exactly what the file held, or nothing is committed.
      for (const [name] of TABLES) {
        const [{ n }] = (await tx.execute(sql`SELECT count(*)::int AS n FROM ${pgTables[name]}`)) as unknown as [{ n: number }]
        if (n !== counts[tableName(name)]) throw new MigrateError(`${tableName(name)}: copied ${n} rows of ${counts[tableName(name)]}`)
      }
    })
    console.log(`migrated ${from} to Postgres:`)
    for (const [table, n] of Object.entries(counts)) console.log(`  ${table.padEnd(18)} ${n}`)
    console.log('Start the gateway with TOLLGATE_DATABASE_URL set to the same URL.')
    return 0
  } catch (error) {
    if (error instanceof MigrateError) return fail(`tollgate: ${error.message}; nothing was written`, 1)
    throw error
  } finally {
    source.$client.close()
    await target.close()
  }
}

class MigrateError extends Error {}

const tableName = (name: (typeof TABLES)[number][0]) => getTableName(pgTables[name])

function fail(message: string, code: number): number {
  console.error(message)
  return code
}

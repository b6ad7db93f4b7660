import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** A migration as drizzle's migrator records it (`__drizzle_migrations`): its SQL's SHA-256 and its journal `when`. */
export interface RecordedMigration {
  hash: string
  created_at: number | string | bigint
}

export class SchemaNewerError extends Error {
  override name = 'SchemaNewerError'
}

interface Journal {
  entries: Array<{ tag: string; when: number }>
}

/**
 * Refuses a database a newer tollgate has migrated, before this one migrates it. Drizzle's migrator applies
 * the migrations dated after the newest one recorded, and nothing else: on a database whose newest is dated
 * after this binary's last, it applies nothing and says nothing, and this binary would run against tables it
 * does not know (a new NOT NULL column fails its inserts, at request time). A recorded migration dated after
 * this binary's last was written by a newer one. (One dated earlier that this binary does not have is an older
 * build's, not a newer one's.) `database` names it for the operator, without credentials.
 */
export function refuseNewerSchema(recorded: RecordedMigration[], migrationsFolder: string, database: string): void {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as Journal
  const ours = journal.entries.at(-1)!
  const newest = recorded.reduce<RecordedMigration | undefined>((a, b) => (!a || Number(b.created_at) > Number(a.created_at) ? b : a), undefined)
  if (!newest || Number(newest.created_at) <= ours.when) return
  throw new SchemaNewerError(
    `${database} was migrated by a newer tollgate: its newest migration (hash ${newest.hash.slice(0, 12)}, dated ` +
      `${new Date(Number(newest.created_at)).toISOString()}) is not one of this tollgate's, whose newest is ${ours.tag} ` +
      `(dated ${new Date(ours.when).toISOString()}), and this one would run against tables it does not know. ` +
      'Run the newer tollgate, or restore the backup taken before the upgrade to run this one',
  )
}

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { PG_MIGRATIONS } from '../../../src/store/postgres/store'

/**
 * A Postgres database as an older build left it: the drizzle-pg migrations up to `throughIdx` applied and recorded
 * as drizzle's migrator records them, a migration's text replaced by `texts[tag]` where that build shipped another.
 */
export async function postgresMigratedThrough(url: string, throughIdx: number, texts: Record<string, string> = {}): Promise<void> {
  const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ idx: number; tag: string; when: number }> }
  const sql = new Bun.SQL(url)
  try {
    await sql`CREATE SCHEMA drizzle`
    await sql`CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`
    for (const { tag, when } of journal.entries.filter((e) => e.idx <= throughIdx)) {
      const text = texts[tag] ?? readFileSync(join(PG_MIGRATIONS, `${tag}.sql`), 'utf8')
      for (const statement of text.split('--> statement-breakpoint')) await sql.unsafe(statement)
      await sql`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${createHash('sha256').update(text).digest('hex')}, ${when})`
    }
  } finally {
    await sql.close()
  }
}

import { sql } from 'drizzle-orm'

/** The UTC day (`YYYY-MM-DD`) of a usage row in SQLite: the store's and the records reader's. */
export const sqliteUsageDay = (createdAt: unknown) => sql<string>`strftime('%Y-%m-%d', ${createdAt} / 1000, 'unixepoch')`

import type { SQL } from 'bun'
import { waitFor } from '../../support/wait-for'

type RowEvent = 'INSERT' | 'UPDATE' | 'DELETE'

/**
 * COMMITs made slow on purpose, as synchronous replication or a slow fsync make them: a deferred constraint trigger
 * sleeps `seconds` at COMMIT for the rows it is put on, so a write's answer can come after the gateway's deadline
 * while the write itself still lands.
 */
export async function slowCommits(db: SQL, seconds: number) {
  await db.unsafe(`CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(${seconds}); RETURN NULL; END $$`)
  return {
    /** Makes the COMMIT of a transaction that does `event` to a row of `table` matching `when` take `seconds`. */
    on: (table: string, event: RowEvent, when: string) =>
      db.unsafe(`CREATE CONSTRAINT TRIGGER slow_${table}_${event.toLowerCase()} AFTER ${event} ON ${table} DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION slow_commit()`),
    /** Until a slow COMMIT is under way: a session sleeping in it (within 10 s, or it throws). */
    underWay: async () => {
      const sleeping = async () => Number((await db`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep'`)[0].n) > 0
      if (!(await waitFor(10_000, sleeping))) throw new Error('no slow COMMIT under way after 10 s')
    },
    /** Until a slow COMMIT has landed, with some room. */
    landed: () => Bun.sleep(seconds * 1000 + 500),
  }
}

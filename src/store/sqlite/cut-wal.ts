import type { Db } from '../../db/open'

/** How long a stop tries to copy the WAL back and cut it, while another connection still reads or checkpoints. */
export const CUT_WAL_MS = 2_000

/**
 * Copies the WAL back into the database file and cuts it to nothing. A checkpoint that finds a reader on the
 * WAL, or another connection's checkpoint under way (a thread just ended may still be finishing one), does not
 * fail: it answers `busy` and leaves the WAL as it is. So it is tried again, for CUT_WAL_MS at most; past that
 * the WAL stays whole, and the next start, or the last connection's close, copies it back.
 */
export async function cutWal(client: Db['$client']): Promise<void> {
  const until = performance.now() + CUT_WAL_MS
  try {
    // Not the connection's usual 5 s for each try: a reader that holds an old snapshot must not hold up a stop.
    client.exec('PRAGMA busy_timeout = 100')
    for (;;) {
      const checkpoint = client.prepare('PRAGMA wal_checkpoint(TRUNCATE)')
      const { busy } = checkpoint.get() as { busy: number }
      checkpoint.finalize()
      if (busy === 0 || performance.now() >= until) return
      await Bun.sleep(20)
    }
  } catch {
    // A checkpoint that fails outright (the disk): the WAL stays as it is, whole.
  }
}

/**
 * Several processes open one database file (a TOLLGATE_WORKERS group, a restarted worker, `tollgate migrate`
 * beside a running gateway). One that opens it while another holds it for a moment waits its turn: the busy
 * timeout is set before the first statement that reads the file. It used to come after `journal_mode = WAL`,
 * which then failed at once with "database is locked", and a worker of a group starting on one file ended
 * before serving (seen once in CI).
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { tempDir } from './support/gateway'

const dir = tempDir('tollgate-open-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Creates the database and its tables, as a gateway's first start does. */
const CREATE = `
  import { openDatabase } from ${JSON.stringify(join(import.meta.dir, '../src/db/open'))}
  openDatabase(process.argv[1]).$client.close()
`

/** Another process holds the file whole (an exclusive lock) for `ms`, and says when it has it. */
const HOLDER = `
  import { Database } from 'bun:sqlite'
  const db = new Database(process.argv[1])
  db.exec('PRAGMA busy_timeout = 5000')
  db.exec('PRAGMA locking_mode = EXCLUSIVE')
  db.exec('BEGIN EXCLUSIVE')
  db.exec("INSERT INTO users (id, period_start, created_at, updated_at) VALUES ('holder', 0, 0, 0)")
  console.log('holding')
  await Bun.sleep(Number(process.argv[2]))
  db.exec('COMMIT')
  db.close()
`

test('a process opening the database while another holds it waits for it, instead of failing', async () => {
  const path = join(dir, 'tollgate.db')
  // The file is created and migrated by a process of its own: a connection this process closed may linger until
  // its statements are finalized (sqlite3_close_v2), and the holder's exclusive lock would then wait on it (once in
  // CI: the holder gave up after its 5 s busy timeout, before saying it held the file).
  const created = Bun.spawnSync([process.execPath, '-e', CREATE, path], { stderr: 'pipe' })
  expect(created.exitCode, created.stderr.toString()).toBe(0)
  const holder = Bun.spawn([process.execPath, '-e', HOLDER, path, '400'], { stdout: 'pipe', stderr: 'pipe' })
  const said = await holder.stdout.getReader().read()
  expect(new TextDecoder().decode(said.value)).toContain('holding')

  const started = performance.now()
  const db = openDatabase(path)
  const waited = performance.now() - started
  try {
    // It opened once the other let go: it did wait for it.
    expect(waited).toBeGreaterThan(200)
    expect(db.$client.query("SELECT id FROM users WHERE id = 'holder'").get()).toEqual({ id: 'holder' })
  } finally {
    db.$client.close()
  }
  expect(await holder.exited).toBe(0)
})

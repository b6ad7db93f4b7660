/**
 * An idle gateway whose WAL was left past its limit goes back to the checkpointer's idle pace. Its rounds run every
 * 25 ms while the WAL is past its limit (src/db/checkpointer-worker.ts), and a WAL left so by a burst, a prune or an
 * alert check and then not written to stays so: only a write starts it afresh. Every round found nothing landed and
 * asked the request thread for the tail again: it woke 40 times a second for a checkpoint with nothing to copy, for as
 * long as the gateway stayed idle (N times over with TOLLGATE_WORKERS=N). Measured from Linux's per-thread schedstat
 * (run time, timeslices) against a gateway whose WAL is small.
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnGateway, tempDir } from './support/gateway'
import { quietThread } from './support/request-thread-hold'

/** The main (request) thread's run time in ms and its number of timeslices (wake-ups). */
const mainThread = (pid: number) => {
  const [ns, , slices] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number)
  return { ms: ns! / 1e6, slices: slices! }
}

const IDLE_MS = 3_000
const dir = tempDir()
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('an idle gateway with a WAL left past its limit does not wake its request thread 40 times a second', async () => {
  const dbPath = join(dir, 'tollgate.db')
  const gw = await spawnGateway({ dbPath, env: { TOLLGATE_LOG_LEVEL: 'warn' } })
  try {
    const pid = gw.proc.pid
    await quietThread(pid)
    await Bun.sleep(1_500)
    const a0 = mainThread(pid)
    await Bun.sleep(IDLE_MS)
    const a1 = mainThread(pid)
    const baseline = { ms: a1.ms - a0.ms, slices: a1.slices - a0.slices }

    // ~25 MB written in one go (what a burst, a prune or an alert check leaves), then nothing more.
    const db = new Database(dbPath)
    db.exec('PRAGMA busy_timeout = 5000')
    db.exec('CREATE TABLE scratch (x BLOB)')
    const ins = db.prepare('INSERT INTO scratch VALUES (randomblob(4000))')
    db.transaction(() => {
      for (let i = 0; i < 6000; i++) ins.run()
    })()
    ins.finalize()
    db.close()
    // The checkpointer copies it back within its rounds; from here nothing is written.
    await Bun.sleep(2_000)
    const walMb = statSync(`${dbPath}-wal`).size / 1e6
    const b0 = mainThread(pid)
    await Bun.sleep(IDLE_MS)
    const b1 = mainThread(pid)
    const idle = { ms: b1.ms - b0.ms, slices: b1.slices - b0.slices }
    console.log(
      `WAL ${walMb.toFixed(1)} MB left idle; request thread over ${IDLE_MS} ms idle: baseline ${baseline.ms.toFixed(1)} ms / ${baseline.slices} wake-ups, ` +
        `with the WAL past its limit ${idle.ms.toFixed(1)} ms / ${idle.slices} wake-ups`,
    )
    expect(walMb).toBeGreaterThan(16.8)
    // Once a second (the idle pace) would be ~3 more wake-ups here; 40 a second is ~120.
    expect(idle.slices).toBeLessThan(baseline.slices + 30)
  } finally {
    await gw.stop()
  }
}, 60_000)

/**
 * /health on SQLite says whether the database takes writes, not only whether it answers: a file on a filesystem
 * remounted read-only (as the kernel remounts one after a disk error) answers `SELECT 1` all the same while
 * every hold fails. The probe asks the kernel (access(2), EROFS) and writes nothing.
 *
 * A real read-only filesystem over the gateway's database folder: a bind mount of the folder onto itself, made
 * read-only (a filesystem with a file open for writing cannot be remounted read-only, so the folder's own mount
 * is left as it is). The gateway's connection, opened before, still writes through the folder's own mount: only
 * the probe, which looks the file up by its path, meets the read-only one. Needs root (CAP_SYS_ADMIN), as the
 * Postgres engine tests do; it fails, never skips, without. /metrics says the same: the database up (it answers
 * reads) and read-only (`tollgate_database_read_only`).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { dirname } from 'node:path'
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway'

let gw: TestGateway
let folder: string
let mounted = false
beforeAll(async () => {
  gw = await startTestGateway({ config: { metrics_enabled: true } })
  folder = dirname(gw.dbPath)
})
// The gateway first: a connection it still has open through the read-only mount would keep it busy, and a failed
// umount must not leave the gateway running.
afterAll(async () => {
  await gw?.stop()
  if (mounted) run('umount', folder)
})

function run(...command: string[]): void {
  const done = Bun.spawnSync(command, { stderr: 'pipe' })
  if (done.exitCode !== 0) throw new Error(`${command.join(' ')} failed (root is needed): ${done.stderr.toString().trim()}`)
}

const health = async () => {
  const res = await fetch(`${gw.url}/health`)
  return { status: res.status, body: await res.json() }
}
const databaseGauges = async () => {
  const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()
  return text.split('\n').filter((line) => /^tollgate_database_(up|read_only) /.test(line))
}

test('the database folder remounted read-only: /health is 503 read_only; writable again: 200', async () => {
  expect(await health()).toEqual({ status: 200, body: { status: 'ok' } })
  // The scrape opens the records reader's connection, as a gateway running for a while has it, before the remount.
  expect(await databaseGauges()).toEqual(['tollgate_database_up 1', 'tollgate_database_read_only 0'])
  run('mount', '--bind', folder, folder)
  mounted = true
  run('mount', '-o', 'remount,bind,ro', folder)
  expect(await health()).toEqual({ status: 503, body: { status: 'unavailable', database: 'read_only' } })
  expect(await databaseGauges()).toEqual(['tollgate_database_up 1', 'tollgate_database_read_only 1'])
  run('umount', folder)
  mounted = false
  expect(await health()).toEqual({ status: 200, body: { status: 'ok' } })
  expect(await databaseGauges()).toEqual(['tollgate_database_up 1', 'tollgate_database_read_only 0'])
})

/**
 * The database file replaced under a running gateway, as an operator restoring a backup in place does
 * (`cp backup.db tollgate.db.new && mv tollgate.db.new tollgate.db`, or `rsync`, which also renames into place).
 * The gateway's connection keeps the old file open, and in WAL mode SQLite writes on into it (it refuses only in
 * rollback mode, SQLITE_READONLY_DBMOVED): it answered 200 and charged every request into a file no path names any
 * more, `/health` said ok, nothing was logged, and at its stop those charges went with the old file (red team js:
 * usage rows 3 of 5). The gateway now compares the file it opened (device and inode) with the one its path names,
 * once a checkpointer round (a second) and at each /health: once it differs, every hold is refused 503 and /health
 * says `database: replaced`, said once in the log. A request served in the second before the check sees it is
 * charged into the old file: README says so.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { spawnGateway, tempDir, type SpawnedGateway } from './support/gateway'

let gw: SpawnedGateway
let mock: MockProvider
let secret: string
let stopped = false
// The harness removes its own folder at the stop; the file is read after it.
const dir = tempDir('tollgate-replaced-')
beforeAll(async () => {
  mock = startMockProvider()
  // A process of its own, with its checkpointer thread, and its log read as an operator reads it.
  gw = await spawnGateway({ mock, dbPath: join(dir, 'tollgate.db') })
  ;({ secret } = await gw.userWithKey({ id: 'u', max_budget: 100 }))
})
afterAll(async () => {
  if (!stopped) await gw?.stop()
  mock?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const chat = async () => {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello there' }] }),
  })
  const body = (await res.json()) as { error?: { code?: string; message?: string } }
  return `${res.status} ${body.error?.code ?? 'ok'}${body.error?.message?.includes('replaced') ? ' (replaced)' : ''}`
}
const health = async () => {
  const res = await fetch(`${gw.url}/health`)
  return { status: res.status, body: await res.json() }
}
/** The error lines saying so (Bun prints an error's source line below it too). */
const saidReplaced = () => gw.output().split('\n').filter((line) => /^error: the database file .* was replaced under the running gateway/.test(line)).length

test('once the file is seen replaced (within a checkpointer round), no request is served 200 into the old file; /health says replaced', async () => {
  for (let i = 0; i < 3; i++) expect(await chat()).toBe('200 ok')
  await gw.settled()
  // The operator's backup (taken online, consistent) and, later, its restore by rename into place.
  const backup = join(dirname(gw.dbPath), 'backup.db')
  const reader = new Database(gw.dbPath, { readonly: true })
  reader.run(`VACUUM INTO '${backup}'`)
  reader.close()
  renameSync(backup, gw.dbPath)
  // One checkpointer round (1 s) and some: no /health call in between, so it is the round that sees it.
  await Bun.sleep(1_300)
  expect(saidReplaced()).toBe(1)
  expect([await chat(), await chat()]).toEqual(['503 database_unavailable (replaced)', '503 database_unavailable (replaced)'])
  expect(await health()).toEqual({ status: 503, body: { status: 'unavailable', database: 'replaced' } })
  // Said once, not once a request or a probe.
  expect(saidReplaced()).toBe(1)
  await gw.stop()
  stopped = true

  // The file TOLLGATE_DB names holds what was charged: the 3 requests before the backup, none lost since.
  const file = new Database(gw.dbPath, { readonly: true })
  const { rows, cost } = file.query('SELECT COUNT(*) AS rows, COALESCE(SUM(cost), 0) AS cost FROM usage').get() as { rows: number; cost: number }
  const { spend } = file.query(`SELECT spend FROM users WHERE id = 'u'`).get() as { spend: number }
  file.close()
  expect({ rows, spendIsUsage: spend === cost }).toEqual({ rows: 3, spendIsUsage: true })
}, 30_000)

/**
 * Red team jx, on 4aaea620 (after "Merge fix-sqlitefile", cf48afad). The file-identity check (src/db/file-identity.ts)
 * latches `replaced` for good the first time the database's path names nothing, even for a moment: the checkpointer's
 * round (or a /health) that stats the path while its folder is away flips the store into refusing every hold and
 * admin write 503 database_unavailable, and /health 503 `database: replaced`, until a restart. But the file never
 * changed: the folder came back with the very file the gateway has open (same device, same inode), and its
 * connection kept writing into it the whole time (nothing was lost).
 *
 * The suite itself treats a folder gone for a moment as a volume "that drops out and comes back", which the
 * gateway must ride out (test/wal-checkpointer-restart.test.ts); README ("Backups and restores") sells the check as
 * catching a restore renamed over the file, and says a restart is needed to open "the file now there" — here it is
 * the same file. A healthy gateway refuses everything, with no traffic needed to trigger it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { startTestGateway, tempDir, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let dir: string
let folder: string
let secret: string

beforeAll(async () => {
  dir = tempDir()
  folder = join(dir, 'data')
  mkdirSync(folder, { mode: 0o700 })
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { db: join(folder, 'tollgate.db') } })
  ;({ secret } = await gw.userWithKey({ id: 'rides-out-a-blip' }))
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const chat = () =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  })

test('a database folder gone for a moment and back with the same file leaves the gateway serving', async () => {
  expect((await chat()).status).toBe(200)
  const path = join(folder, 'tollgate.db')
  const before = statSync(path, { bigint: true })
  // The folder is away for a couple of seconds (a volume that drops out and comes back); no request meanwhile.
  renameSync(folder, `${folder}-away`)
  await Bun.sleep(2_500)
  renameSync(`${folder}-away`, folder)
  const after = statSync(path, { bigint: true })
  // The very file the gateway opened.
  expect({ dev: after.dev, ino: after.ino }).toEqual({ dev: before.dev, ino: before.ino })

  const health = await fetch(`${gw.url}/health`)
  const res = await chat()
  expect({ health: health.status, healthBody: await health.json(), chat: res.status, chatBody: res.status === 200 ? null : await res.json() }).toEqual({
    health: 200,
    healthBody: expect.objectContaining({ status: 'ok' }),
    chat: 200,
    chatBody: null,
  })
}, 30_000)

test('the database file itself removed while serving is still refused as replaced (its path names nothing, and nothing names it)', async () => {
  rmSync(join(folder, 'tollgate.db'))
  // One checkpointer round (1 s) and some: no /health call in between, so it is the round that sees it.
  await Bun.sleep(1_300)
  const res = await chat()
  expect({ status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code }).toEqual({ status: 503, code: 'database_unavailable' })
  expect(await (await fetch(`${gw.url}/health`)).json()).toEqual({ status: 'unavailable', database: 'replaced' })
}, 30_000)

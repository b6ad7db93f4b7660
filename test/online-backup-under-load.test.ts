/**
 * docs/container.md's online backup advice, run as the page gives it while the gateway serves (red team js). It
 * advised `sqlite3 /path/to/tollgate.db ".backup backup.db"`. The sqlite3 shell's `.backup` copies 100 pages per
 * `sqlite3_backup_step` and lets the source's lock go between steps; a write by another process in between (the
 * gateway's write queue commits every few milliseconds under load, and its checkpointer copies the WAL back every
 * second) starts the copy over from the first page (https://sqlite.org/c3ref/backup_finish.html). On a 24 MB
 * file (a few months of a small team's request log) with the gateway serving 20 requests a second, the backup never
 * ends: still copying after 20 s, while the same backup of the same file finishes in well under a second once the
 * gateway is idle. An operator's cron job following the advice hangs (or is killed) and never produces a backup.
 * The page now advises `VACUUM INTO`, one read transaction: the command is read from the page, so advice that
 * does not finish under load fails here.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
let mock: MockProvider
let secret: string
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  ;({ secret } = await gw.userWithKey({ id: 'u', max_budget: 1000 }))
  // History to copy: ~24 MB, as a few months of request-log rows and usage would be.
  gw.exec(`CREATE TABLE history_stand_in AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 40000) SELECT i, randomblob(500) AS b FROM c`)
})
afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

/** The online backup command docs/container.md gives, its paths as the page writes them. */
const advised = (() => {
  const page = readFileSync(join(import.meta.dir, '..', 'docs', 'container.md'), 'utf8')
  const command = /or online with\s+`([^`]+)`/.exec(page)?.[1]
  if (!command?.includes('/path/to/tollgate.db') || !command.includes('backup.db')) throw new Error(`no online backup command found in docs/container.md: ${command}`)
  return command.replace(/\s+/g, ' ')
})()

/** Runs the docs' backup command, by a shell, on the gateway's file; how it ended within `limitMs`. */
async function backup(to: string, limitMs: number): Promise<string> {
  rmSync(to, { force: true })
  const started = performance.now()
  const command = advised.replaceAll('/path/to/tollgate.db', gw.dbPath).replaceAll('backup.db', to)
  const proc = Bun.spawn(['sh', '-c', command], { stderr: 'pipe' })
  const ended = await Promise.race([proc.exited.then((code) => `exit ${code}`), Bun.sleep(limitMs).then(() => null)])
  if (ended === null) {
    proc.kill()
    await proc.exited
    return `still copying after ${limitMs} ms`
  }
  return `${ended} in ${Math.round(performance.now() - started)} ms`
}

test('the online backup docs/container.md advises finishes while the gateway serves 20 requests a second', async () => {
  const to = join(dirname(gw.dbPath), 'backup.db')
  // The gateway idle: the copy takes well under a second.
  const idle = await backup(to, 20_000)
  console.log(`idle: ${idle}`)
  expect(idle).toMatch(/^exit 0 in \d+ ms$/)
  expect(existsSync(to)).toBe(true)
  // The copy holds key hashes: its owner's alone.
  expect(statSync(to).mode & 0o077).toBe(0)
  // A steady 20 requests a second (a few developers' coding agents).
  let serving = true
  let served = 0
  const load = (async () => {
    while (serving) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
      })
      if (res.status === 200) served++
      await res.text()
      await Bun.sleep(50)
    }
  })()
  await Bun.sleep(500)
  const servedBefore = served
  const underLoad = await backup(to, 20_000)
  const servedDuring = served - servedBefore
  console.log(`under load: ${advised}: ${underLoad}, ${servedDuring} requests served meanwhile`)
  serving = false
  await load
  // The gateway served (and wrote) while the copy ran.
  expect(servedDuring).toBeGreaterThan(0)
  expect(underLoad).toMatch(/^exit 0 in \d+ ms$/)
  // A whole copy: every row of the history.
  const copy = Bun.spawnSync(['sqlite3', to, 'SELECT COUNT(*) FROM history_stand_in'])
  expect(copy.stdout.toString().trim()).toBe('40000')
}, 60_000)

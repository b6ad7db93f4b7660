/**
 * TOLLGATE_DB refuses a URL (any `://`, `jdbc:`, `postgres:`: test/sqlite-path-jdbc-url-refused.test.ts) so that a
 * Postgres connection string put in the SQLite setting is not taken as a relative path (the password on disk in a
 * file name, a ledger of one replica: SPEC §11). The other form libpq, psql, secret stores and cloud consoles hand
 * out is the keyword/value conninfo, `host=db port=5432 user=tollgate password=… dbname=tollgate`: it has no
 * `://`, and the gateway served from a SQLite file literally named after it, password included, in its working
 * directory. It is refused too, without repeating it; a path with an `=` in it is still a path.
 */
import { afterEach, expect, test } from 'bun:test'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { configSchema } from '../src/config/schema'
import { urlGivenAsPath } from '../src/config/sqlite-path'
import { BUN, MASTER_KEY, ROOT, tempDir } from './support/gateway'

const PASSWORD = 'Pg0nlyS3cretPw7x'
const CONNINFO = `host=127.0.0.1 port=1 user=tollgate password=${PASSWORD} dbname=tollgate`

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** `bun src/index.ts` in `cwd` until it exits or says it listens (then it is stopped); its output. */
async function run(cwd: string, env: Record<string, string>) {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    cwd,
    env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '0', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let output = ''
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    for await (const chunk of s) output += decoder.decode(chunk, { stream: true })
  }
  const pumped = Promise.all([pump(proc.stdout), pump(proc.stderr)])
  const deadline = Date.now() + 15_000
  while (proc.exitCode === null && !/listening on/.test(output) && Date.now() < deadline) await Bun.sleep(20)
  const listened = /listening on/.test(output)
  if (proc.exitCode === null) proc.kill('SIGTERM')
  const code = await proc.exited
  await pumped
  return { code, listened, output }
}

test('a keyword/value Postgres conninfo is refused as the SQLite path, in any order or spacing, without repeating it', () => {
  for (const conninfo of [
    CONNINFO,
    `dbname=tollgate user=tollgate password=${PASSWORD}`,
    `password = ${PASSWORD} host = db`,
    `HOST=db PASSWORD=${PASSWORD}`,
    `service=tollgate`,
    `hostaddr=10.0.0.5 sslmode=require password=${PASSWORD}`,
  ]) {
    const reason = urlGivenAsPath(conninfo)
    expect([conninfo, reason]).toEqual([conninfo, expect.stringContaining('connection string')])
    expect(reason).not.toContain(PASSWORD)
  }
})

test('paths with an "=" in them are still paths', () => {
  for (const path of ['./data/run=3/tollgate.db', '/srv/host=a/tollgate.db', 'tollgate-user=ops.db', '/srv/my data/port.db']) {
    expect([path, urlGivenAsPath(path)]).toEqual([path, null])
    expect(configSchema.parse({ master_key: MASTER_KEY, db: path }).db).toBe(path)
  }
})

test('a conninfo in TOLLGATE_DB is refused at start, not served from a SQLite file named after it (password on disk)', async () => {
  const cwd = tempDir('tollgate-conninfo-')
  dirs.push(cwd)
  const { code, listened, output } = await run(cwd, { TOLLGATE_DB: CONNINFO })
  expect({ onDisk: readdirSync(cwd).filter((n) => n.includes(PASSWORD)), listened, code }).toEqual({ onDisk: [], listened: false, code: 1 })
  expect(output).toContain('TOLLGATE_DB')
  expect(output).not.toContain(PASSWORD)
}, 30_000)

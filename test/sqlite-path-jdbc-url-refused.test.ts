/**
 * TOLLGATE_DB refuses a URL ("any scheme://…", README) so that a Postgres URL put in the SQLite setting is not taken
 * as a relative path (folders named after the URL, password on disk, a private ledger per replica: SPEC §2, §11).
 * The check looked for `scheme://` at the very start only: a JDBC URL (`jdbc:postgresql://user:pw@host/db`, what a
 * Java stack's secret store hands out) has `jdbc:` first, was taken as a path, and the gateway served from
 * `./jdbc:postgresql:/tollgate:<password>@127.0.0.1:1/tollgate`. Any `://` is refused now; the paths a SQLite file
 * really has (relative, absolute, with spaces, a `file:` name, which bun:sqlite takes as a name) still serve.
 */
import { afterEach, expect, test } from 'bun:test'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { configSchema } from '../src/config/schema'
import { urlGivenAsPath } from '../src/config/sqlite-path'
import { BUN, MASTER_KEY, ROOT, tempDir } from './support/gateway'

const PASSWORD = 'Pg0nlyS3cretPw7x'
const JDBC_URL = `jdbc:postgresql://tollgate:${PASSWORD}@127.0.0.1:1/tollgate`

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const workdir = () => {
  const d = tempDir('tollgate-jdbc-')
  dirs.push(d)
  return d
}

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

const namesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => [e.name, ...(e.isDirectory() ? namesUnder(join(dir, e.name)) : [])])

test('a jdbc:postgresql:// URL in TOLLGATE_DB is refused at start, not served from a SQLite file named after it (password on disk)', async () => {
  const cwd = workdir()
  const { code, listened, output } = await run(cwd, { TOLLGATE_DB: JDBC_URL })
  expect(namesUnder(cwd).filter((n) => n.includes(PASSWORD))).toEqual([])
  expect(listened).toBe(false)
  expect(code).toBe(1)
  expect(output).toContain('TOLLGATE_DB')
  expect(output).not.toContain(PASSWORD)
}, 30_000)

test('a URL is refused wherever its :// stands, and one without slashes by its Postgres or JDBC prefix, never repeated', () => {
  for (const url of [
    JDBC_URL,
    `postgres://tollgate:${PASSWORD}@db/tollgate`,
    ` postgresql://tollgate:${PASSWORD}@db/tollgate`,
    `./postgres://tollgate:${PASSWORD}@db/tollgate`,
    `data/x?u=redis://:${PASSWORD}@cache`,
    `file:///var/lib/tollgate/${PASSWORD}.db`,
    `postgresql:tollgate:${PASSWORD}@db/tollgate`,
    `POSTGRES:tollgate:${PASSWORD}@db/tollgate`,
    `jdbc:postgresql:tollgate?password=${PASSWORD}`,
  ]) {
    const reason = urlGivenAsPath(url)
    expect([url, reason]).toEqual([url, expect.stringContaining('is a URL')])
    expect(reason).not.toContain(PASSWORD)
  }
})

test('the paths a SQLite file has are taken: relative, absolute, with spaces or colons, :memory:, a file: name', () => {
  for (const path of [
    './data/tollgate.db',
    'tollgate.db',
    '../shared/tollgate.db',
    '/var/lib/tollgate/tollgate.db',
    '/srv/my data/toll gate.db',
    '/srv/backup 2026-12-01 10:00/tollgate.db',
    ':memory:',
    'file:tollgate.db',
    '/srv/postgres/tollgate.db',
  ]) {
    expect([path, urlGivenAsPath(path)]).toEqual([path, null])
    expect(configSchema.parse({ master_key: MASTER_KEY, db: path }).db).toBe(path)
  }
})

test('the gateway serves from a relative path with spaces, and from a file: name, as the files they name', async () => {
  for (const path of ['my data/toll gate.db', 'file:tollgate.db']) {
    const cwd = workdir()
    const { listened, output } = await run(cwd, { TOLLGATE_DB: path })
    expect([path, listened, output]).toEqual([path, true, expect.any(String)])
    expect(existsSync(join(cwd, path))).toBe(true)
  }
}, 30_000)

/**
 * TOLLGATE_DB refuses a URL ("any scheme://…", README) so that a Postgres URL put in the SQLite setting is not taken
 * as a relative path (folders named after the URL, password on disk, a private ledger per replica: SPEC §2, §11).
 * The check looked for `scheme://` at the very start only: a JDBC URL (`jdbc:postgresql://user:pw@host/db`, what a
 * Java stack's secret store hands out) has `jdbc:` first, was taken as a path, and the gateway served from
 * `./jdbc:postgresql:/tollgate:<password>@127.0.0.1:1/tollgate`. Any `://` is refused now; the paths a SQLite file
 * really has (relative, absolute, with spaces, a `file:` name, which bun:sqlite takes as a name) still serve.
 */
import { expect, test } from 'bun:test'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { configSchema } from '../src/config/schema'
import { urlGivenAsPath } from '../src/config/sqlite-path'
import { MASTER_KEY } from './support/gateway'
import { startAttempt, workdirsPerTest } from './support/start-attempt'

const PASSWORD = 'Pg0nlyS3cretPw7x'
const JDBC_URL = `jdbc:postgresql://tollgate:${PASSWORD}@127.0.0.1:1/tollgate`

const workdir = workdirsPerTest('tollgate-jdbc-')

const namesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => [e.name, ...(e.isDirectory() ? namesUnder(join(dir, e.name)) : [])])

test('a jdbc:postgresql:// URL in TOLLGATE_DB is refused at start, not served from a SQLite file named after it (password on disk)', async () => {
  const cwd = workdir()
  const { code, listened, output } = await startAttempt(cwd, { TOLLGATE_DB: JDBC_URL })
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
    const { listened, output } = await startAttempt(cwd, { TOLLGATE_DB: path })
    expect([path, listened, output]).toEqual([path, true, expect.any(String)])
    expect(existsSync(join(cwd, path))).toBe(true)
  }
}, 30_000)

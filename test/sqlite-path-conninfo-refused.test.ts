/**
 * TOLLGATE_DB refuses a URL (any `://`, `jdbc:`, `postgres:`: test/sqlite-path-jdbc-url-refused.test.ts) so that a
 * Postgres connection string put in the SQLite setting is not taken as a relative path (the password on disk in a
 * file name, a ledger of one replica: SPEC §11). The other form libpq, psql, secret stores and cloud consoles hand
 * out is the keyword/value conninfo, `host=db port=5432 user=tollgate password=… dbname=tollgate`: it has no
 * `://`, and the gateway served from a SQLite file literally named after it, password included, in its working
 * directory. It is refused too, without repeating it; a path with an `=` in it is still a path.
 */
import { expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { configSchema } from '../src/config/schema'
import { urlGivenAsPath } from '../src/config/sqlite-path'
import { MASTER_KEY } from './support/gateway'
import { startAttempt, workdirsPerTest } from './support/start-attempt'

const PASSWORD = 'Pg0nlyS3cretPw7x'
const CONNINFO = `host=127.0.0.1 port=1 user=tollgate password=${PASSWORD} dbname=tollgate`

const workdir = workdirsPerTest('tollgate-conninfo-')

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
  const cwd = workdir()
  const { code, listened, output } = await startAttempt(cwd, { TOLLGATE_DB: CONNINFO })
  expect({ onDisk: readdirSync(cwd).filter((n) => n.includes(PASSWORD)), listened, code }).toEqual({ onDisk: [], listened: false, code: 1 })
  expect(output).toContain('TOLLGATE_DB')
  expect(output).not.toContain(PASSWORD)
}, 30_000)

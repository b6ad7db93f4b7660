/**
 * TOLLGATE_DB is the SQLite file; TOLLGATE_DATABASE_URL the Postgres URL. A Postgres URL put in TOLLGATE_DB (one
 * letter from the setting the README's compose example uses) was taken as a relative file path: the gateway served
 * from a private SQLite file under `./postgres:/<user>:<password>@<host>:<port>/<db>` (the password on disk as a
 * folder name, each replica with budgets of its own), or, where that folder could not be made (a read-only working
 * directory, as in the image), refused with the whole URL, password included, on stderr; `tollgate migrate` printed
 * it too. SPEC §2: an invalid value stops startup with a message naming the field, and secrets are never logged;
 * §11: replicas share one ledger. Such a value is refused, never repeated; a path that carries a password anyway
 * is shown with it masked.
 */
import { expect, test } from 'bun:test'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { startAttempt, workdirsPerTest } from './support/start-attempt'

const PASSWORD = 'Pg0nlyS3cretPw7x'
const URL_IN_DB = `postgres://tollgate:${PASSWORD}@127.0.0.1:1/tollgate`

const workdir = workdirsPerTest('tollgate-db-url-')

/** Every name under `dir`, recursively. */
const namesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => [e.name, ...(e.isDirectory() ? namesUnder(join(dir, e.name)) : [])])

test('a postgres:// URL in TOLLGATE_DB is refused at start, naming the setting, not served from a SQLite file named after it', async () => {
  const cwd = workdir()
  const { code, listened, output } = await startAttempt(cwd, { TOLLGATE_DB: URL_IN_DB })
  expect(listened).toBe(false)
  expect(code).toBe(1)
  expect(output).toContain('db (TOLLGATE_DB): is a URL')
  expect(output).toContain('TOLLGATE_DATABASE_URL')
  expect(output).not.toContain(PASSWORD)
  expect(namesUnder(cwd).filter((n) => n.includes(PASSWORD))).toEqual([])
}, 30_000)

test("when the file could not be made either, the refusal does not print the URL's password", async () => {
  const cwd = workdir()
  // What a read-only working directory does to the folder the URL would be: it cannot be made.
  writeFileSync(join(cwd, 'postgres:'), '')
  const { code, output } = await startAttempt(cwd, { TOLLGATE_DB: URL_IN_DB })
  expect(code).toBe(1)
  expect(output).toContain('TOLLGATE_DB')
  expect(output).not.toContain(PASSWORD)
  expect(existsSync(join(cwd, 'postgres:'))).toBe(true)
}, 30_000)

test('so is a Postgres URL written without its slashes', async () => {
  const { code, output } = await startAttempt(workdir(), { TOLLGATE_DB: `postgresql:tollgate:${PASSWORD}@127.0.0.1:1/tollgate` })
  expect(code).toBe(1)
  expect(output).toContain('db (TOLLGATE_DB): is a URL')
  expect(output).not.toContain(PASSWORD)
}, 30_000)

test('tollgate migrate refuses TOLLGATE_DB holding the URL as its source, without printing the password', async () => {
  const cwd = workdir()
  const { code, output } = await startAttempt(cwd, { TOLLGATE_DB: URL_IN_DB, TOLLGATE_DATABASE_URL: 'postgres://tollgate@127.0.0.1:1/tollgate' }, ['migrate'])
  expect(code).toBe(2)
  expect(output).toContain('TOLLGATE_DB is a URL')
  expect(output).not.toContain(PASSWORD)
  expect(namesUnder(cwd)).toEqual([])
}, 30_000)

test("a path that carries a URL's password deeper in it is named with the password masked: by the gateway's refusal and by migrate", async () => {
  const cwd = workdir()
  writeFileSync(join(cwd, 'file'), '')
  const path = join(cwd, 'file', URL_IN_DB)
  const refusal = (() => {
    try {
      openDatabase(path)
    } catch (error) {
      return (error as Error).message
    }
  })()
  expect(refusal).toContain('/tollgate:***@127.0.0.1:1')
  expect(refusal).not.toContain(PASSWORD)

  mkdirSync(join(cwd, 'work'))
  const target = { TOLLGATE_DATABASE_URL: 'postgres://tollgate@127.0.0.1:1/tollgate' }
  // The folders an earlier build made of the URL (one slash): a path, whose password is masked.
  const folders = await startAttempt(join(cwd, 'work'), target, ['migrate', '--from', `./postgres:/tollgate:${PASSWORD}@127.0.0.1:1/tollgate`])
  expect(folders.code).toBe(1)
  expect(folders.output).toContain('no SQLite database at ./postgres:/tollgate:***@127.0.0.1:1/tollgate')
  expect(folders.output).not.toContain(PASSWORD)
  // With its `://` after a path's start, it is still a URL: refused as one, not looked for.
  const url = await startAttempt(join(cwd, 'work'), target, ['migrate', '--from', `./${URL_IN_DB}`])
  expect(url.code).toBe(2)
  expect(url.output).toContain('--from is a URL')
  expect(url.output).not.toContain(PASSWORD)
}, 30_000)

/**
 * `tollgate migrate` takes its target from TOLLGATE_DATABASE_URL when `--to` is not given: SECURITY.md says to pass
 * the Postgres URL, which carries the password, from the environment, and an argument shows in `ps` and the
 * shell's history. A URL read from there is checked as `--to`'s is, and a refusal names where it came from.
 * (The copy itself through the environment's URL: test/engines/migrate.engine.ts.)
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { BUN, ROOT } from './support/gateway'

const PASSWORD = 'pw-not-for-logs'

async function migrate(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), 'migrate', ...args], {
    env: { PATH: process.env.PATH ?? '', TOLLGATE_DB: '/nonexistent/tollgate.db', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
  return { code, stderr }
}

test('neither --to nor TOLLGATE_DATABASE_URL: a usage error naming both', async () => {
  const { code, stderr } = await migrate([], {})
  expect(code).toBe(2)
  expect(stderr).toContain('set TOLLGATE_DATABASE_URL, or give --to')
})

test('TOLLGATE_DATABASE_URL stands for --to, checked as --to is, and a refusal names the variable, never the password', async () => {
  const bogus = `postgres://tollgate:${PASSWORD}@127.0.0.1:5432/tollgate?sslmode=bogus`
  const refused = await migrate([], { TOLLGATE_DATABASE_URL: bogus })
  expect(refused.code).toBe(2)
  expect(refused.stderr).toContain('TOLLGATE_DATABASE_URL: the Postgres client refuses it')
  expect(refused.stderr).not.toContain(PASSWORD)

  const notPostgres = await migrate([], { TOLLGATE_DATABASE_URL: 'mysql://nope' })
  expect([notPostgres.code, notPostgres.stderr.includes('TOLLGATE_DATABASE_URL must be a postgres:// URL')]).toEqual([2, true])
})

test('--to, when given, wins over TOLLGATE_DATABASE_URL', async () => {
  const { code, stderr } = await migrate(['--to', 'mysql://nope'], { TOLLGATE_DATABASE_URL: 'postgres://tollgate@127.0.0.1:1/tollgate' })
  expect([code, stderr.includes('--to must be a postgres:// URL')]).toEqual([2, true])
})

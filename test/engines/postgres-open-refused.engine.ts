/**
 * A Postgres that answers but will not let the gateway in, or not create its tables (a database that does not
 * exist; one owned by another role, where tollgate's own may not create a schema, as on Postgres 15 after a bare
 * `createdb`), stopped the start with an uncaught error and its stack. Each is one `[tollgate] refusing to start`
 * line naming TOLLGATE_DATABASE_URL, the database's address and Postgres's own reason, never the password, exit 1.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

const PASSWORD = 'pw-not-for-logs'
let pg: TestPostgres

beforeAll(async () => {
  pg = await startPostgres()
  const admin = new Bun.SQL(`postgres://postgres@127.0.0.1:${pg.port}/postgres`)
  try {
    await admin.unsafe(`CREATE ROLE tollgate LOGIN PASSWORD '${PASSWORD}'`)
    await admin.unsafe('CREATE DATABASE not_its_own') // owned by postgres: tollgate may connect, not create
  } finally {
    await admin.close()
  }
})
afterAll(async () => {
  await pg?.destroy()
})

async function start(databaseUrl: string) {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '0', TOLLGATE_DATABASE_URL: databaseUrl, BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const code = await Promise.race([proc.exited, Bun.sleep(30_000).then(() => 'still running')])
  if (code === 'still running') proc.kill('SIGKILL')
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  return { code, stdout, stderr }
}

const cases = [
  ['a database that does not exist', 'absent', /cannot connect to Postgres at 127\.0\.0\.1:\d+\/absent: .*does not exist/],
  ['a database another role owns', 'not_its_own', /Postgres at 127\.0\.0\.1:\d+\/not_its_own refused the schema's migrations: permission denied .*\(SQLSTATE 42501\)/],
] as const

for (const [what, database, reason] of cases) {
  test(`${what}: a one-line refusal naming the setting and Postgres's reason, exit 1`, async () => {
    const { code, stdout, stderr } = await start(`postgres://tollgate:${PASSWORD}@127.0.0.1:${pg.port}/${database}`)
    expect(code).toBe(1)
    const lines = stderr.trim().split('\n')
    expect(lines.length).toBe(1)
    expect(lines[0]).toStartWith('[tollgate] refusing to start: TOLLGATE_DATABASE_URL: ')
    expect(lines[0]).toMatch(reason)
    expect(stdout + stderr).not.toContain(PASSWORD)
    expect(stdout + stderr).not.toMatch(/^\s+at |Bun v\d/m)
  }, 60_000)
}

/**
 * SPEC §2: "an invalid value stops startup with exit code 1 and a message that names the field". A
 * TOLLGATE_DATABASE_URL that passes the postgres:// pattern but that Bun's SQL client cannot take (a port past
 * 65535, an `sslmode` it does not know), or a TOLLGATE_REDIS_URL that is a URL but not one Bun's RedisClient
 * takes (`redis://host:6379/abc`), stopped the start later with an uncaught TypeError and a stack trace through
 * bun:sql or src/redis, naming no setting. Each is now refused as any invalid setting is, by the client's own
 * reading of the URL, without its password. `tollgate migrate --to` reads its URL the same way.
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT } from './support/gateway'

const PASSWORD = 'pw-not-for-logs'

async function run(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), ...args], {
    env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '0', TOLLGATE_DB: ':memory:', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const code = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => 'still running')])
  if (code === 'still running') proc.kill()
  return { code, stderr: await new Response(proc.stderr).text() }
}

const INVALID = [
  ['TOLLGATE_DATABASE_URL', 'a port past 65535', `postgres://tollgate:${PASSWORD}@127.0.0.1:99999/tollgate`],
  ['TOLLGATE_DATABASE_URL', 'an sslmode the client does not know', `postgres://tollgate:${PASSWORD}@127.0.0.1:5432/tollgate?sslmode=bogus`],
  ['TOLLGATE_REDIS_URL', 'a database number that is not one', `redis://:${PASSWORD}@127.0.0.1:6379/abc`],
] as const

for (const [name, what, url] of INVALID) {
  test(`${name} with ${what} is refused naming the setting`, async () => {
    const { code, stderr } = await run([], { [name]: url })
    expect(code).toBe(1)
    expect(stderr).toContain('[tollgate] refusing to start')
    expect(stderr).toContain(name)
    expect(stderr).toContain('client refuses it')
    expect(stderr).not.toContain(PASSWORD)
    expect(stderr).not.toMatch(/^\s+at /m) // a refusal, not a crash's stack trace
  }, 30_000)
}

test('tollgate migrate --to a URL the Postgres client refuses is a usage error naming --to, nothing opened', async () => {
  const { code, stderr } = await run(['migrate', '--to', INVALID[1][2], '--from', '/nonexistent/tollgate.db'], {})
  expect(code).toBe(2)
  expect(stderr).toContain('--to: the Postgres client refuses it')
  expect(stderr).not.toContain(PASSWORD)
  expect(stderr).not.toMatch(/^\s+at /m)
})

/**
 * A Postgres that cannot be reached at start (TOLLGATE_DATABASE_URL naming a host where nothing listens) stopped
 * the gateway with an uncaught PostgresError, its stack and Bun's banner. It is refused as every start is: one
 * `[tollgate] refusing to start: …` line naming the setting and the database's address, never the password,
 * exit 1. (A server that answers but refuses the login or the schema: test/engines/postgres-open-refused.engine.ts.)
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT } from './support/gateway'
import { freePort } from './support/free-port'

const PASSWORD = 'pw-not-for-logs'

test('an unreachable Postgres is a one-line refusal naming TOLLGATE_DATABASE_URL and its host, exit 1', async () => {
  const port = freePort()
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      TOLLGATE_MASTER_KEY: MASTER_KEY,
      TOLLGATE_PORT: '0',
      TOLLGATE_DATABASE_URL: `postgres://tollgate:${PASSWORD}@127.0.0.1:${port}/tollgate`,
      BUN_CONFIG_MAX_HTTP_REQUESTS: '4096',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const code = await Promise.race([proc.exited, Bun.sleep(20_000).then(() => 'still running')])
  if (code === 'still running') proc.kill('SIGKILL')
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  expect(code).toBe(1)
  expect(stderr.trim().split('\n')).toEqual([
    expect.stringMatching(new RegExp(`^\\[tollgate\\] refusing to start: TOLLGATE_DATABASE_URL: cannot connect to Postgres at 127\\.0\\.0\\.1:${port}/tollgate: `)),
  ])
  expect(stdout + stderr).not.toContain(PASSWORD)
  expect(stdout + stderr).not.toMatch(/^\s+at |PostgresError|Bun v\d/m)
}, 30_000)

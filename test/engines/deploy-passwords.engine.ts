/**
 * deploy/compose.yaml gives the replicas POSTGRES_PASSWORD and REDIS_PASSWORD apart from their URLs
 * (TOLLGATE_DATABASE_PASSWORD, TOLLGATE_REDIS_PASSWORD), so that any password works: one of `openssl rand -base64`
 * has `/`, `+` and `=`, and pasted into the URLs it broke them ("Invalid URL": every replica refused to start).
 * Here a Postgres that checks passwords (scram-sha-256) and a Redis that requires one, each with a password made of
 * the characters a URL treats specially, and a replica started with exactly the compose file's settings.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/open'
import { BUN, MASTER_KEY, ROOT, runGatewayExpectingExit, spawnGateway, tempDir } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startRedis, type TestRedis } from '../support/redis-server'
import { replicaEnvironment } from '../support/replicas'
import { startPostgres, type TestPostgres } from './support/postgres'

// `%2F` must reach the server as typed, not decoded to `/`.
const PG_PASSWORD = 'Xq3/vN8+Lm2k=@:%2F#?[]~ é'
const REDIS_PASSWORD = 'r7Tf+Qw2/Zx9=@:%41#?[]~ é'

let pg: TestPostgres
let redis: TestRedis
let mock: MockProvider
let admin: InstanceType<typeof Bun.SQL>

beforeAll(async () => {
  pg = await startPostgres({ password: 'postgres-superuser-password' })
  admin = new Bun.SQL(pg.url)
  // As the compose file's postgres service sets it up: the role tollgate, owning the database tollgate.
  await admin.unsafe(`CREATE ROLE tollgate LOGIN PASSWORD '${PG_PASSWORD.replaceAll("'", "''")}'`)
  await admin.unsafe('ALTER DATABASE tollgate OWNER TO tollgate')
  redis = await startRedis({ password: REDIS_PASSWORD })
  mock = startMockProvider()
}, 60_000)

afterAll(async () => {
  await admin?.close()
  await pg?.destroy()
  await redis?.stop()
  await mock?.stop()
})

const replicaEnv = (postgresPassword = PG_PASSWORD) =>
  replicaEnvironment({
    redisUrl: redis.address,
    redisPassword: REDIS_PASSWORD,
    postgres: { hostPort: `127.0.0.1:${pg.port}`, password: postgresPassword },
    dbPath: '',
    masterKey: MASTER_KEY,
  })

const printed = (output: string, password: string) => [password, encodeURIComponent(password)].some((form) => output.includes(form))

test('a replica with the compose file\'s settings logs in to Postgres and Redis with passwords a URL would need escaped', async () => {
  const env = replicaEnv()
  expect(env.TOLLGATE_DATABASE_URL).toBe(`postgres://tollgate@127.0.0.1:${pg.port}/tollgate`)
  expect([env.TOLLGATE_DATABASE_PASSWORD, env.TOLLGATE_REDIS_PASSWORD]).toEqual([PG_PASSWORD, REDIS_PASSWORD])
  const gateway = await spawnGateway({ mock, env })
  try {
    expect(await (await fetch(`${gateway.url}/health`)).json()).toEqual({ status: 'ok', redis: 'up', redis_failure: 'open' })
    const { secret } = await gateway.userWithKey({ id: 'deploy-user' })
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    })
    expect(res.status).toBe(200)
    // Written to this Postgres, as the role tollgate.
    expect(await admin`SELECT id FROM users`).toEqual([{ id: 'deploy-user' }])
    // Shared through this Redis: the key's rate limit counts there.
    expect(Number(await redis.cli('dbsize'))).toBeGreaterThan(0)
    expect(printed(gateway.output(), PG_PASSWORD) || printed(gateway.output(), REDIS_PASSWORD)).toBe(false)
  } finally {
    await gateway.stop()
  }
}, 60_000)

test('the password is the one Postgres checks: another one stops the replica, never printing either', async () => {
  const wrong = `not-${PG_PASSWORD}`
  const { code, output } = await runGatewayExpectingExit(replicaEnv(wrong), 20_000)
  expect(code).toBe(1)
  expect(output).toContain('password authentication failed')
  expect(printed(output, wrong) || printed(output, PG_PASSWORD)).toBe(false)
}, 30_000)

test('tollgate migrate logs in with TOLLGATE_DATABASE_PASSWORD as the gateway does', async () => {
  await admin.unsafe('CREATE DATABASE moved OWNER tollgate')
  const dir = tempDir()
  try {
    const file = join(dir, 'tollgate.db')
    openDatabase(file).$client.close()
    const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), 'migrate'], {
      env: {
        PATH: process.env.PATH ?? '',
        TOLLGATE_DB: file,
        TOLLGATE_DATABASE_URL: `postgres://tollgate@127.0.0.1:${pg.port}/moved`,
        TOLLGATE_DATABASE_PASSWORD: PG_PASSWORD,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    expect({ code, output: out + err }).toEqual({ code: 0, output: expect.stringContaining('migrated') })
    expect(printed(out + err, PG_PASSWORD)).toBe(false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

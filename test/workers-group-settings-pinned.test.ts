/**
 * README (TOLLGATE_WORKERS): a worker, a restarted one too, takes the group's store, Redis, port, stop bounds
 * and hold TTL from its primary, over what the configuration file says when it starts; every other setting it
 * reads from the file as a gateway does. A file edited since the group started must neither move a worker nor
 * stop it from starting (a password written for a URL the group does not use would otherwise be refused).
 */
import { afterEach, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load'
import { groupSettingsEnv } from '../src/workers/group-settings'
import { WORKER_ENV } from '../src/workers/worker-env'
import { MASTER_KEY, tempDir } from './support/gateway'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const PINNED = ['host', 'port', 'db', 'database_url', 'redis_url', 'shutdown_grace_ms', 'database_timeout_ms', 'reservation_ttl_sec', 'upstream_timeout_ms'] as const

/** The primary's configuration from `started`, then a worker's from the file rewritten to `edited`. */
function primaryThenWorker(started: Record<string, unknown>, edited: Record<string, unknown>) {
  const dir = tempDir()
  dirs.push(dir)
  const file = join(dir, 'tollgate.yaml')
  const env = { TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: file }
  writeFileSync(file, JSON.stringify({ workers: 2, ...started }))
  const primary = loadConfig(env)
  writeFileSync(file, JSON.stringify({ workers: 2, ...edited }))
  const worker = loadConfig({ ...env, ...groupSettingsEnv(primary), [WORKER_ENV]: String(process.pid) })
  const pinned = (c: typeof primary) => Object.fromEntries(PINNED.map((name) => [name, c[name]]))
  return { primary: pinned(primary), worker: pinned(worker), workerRateLimit: worker.rate_limit_per_min }
}

test('a SQLite group\'s worker keeps the group\'s file, no Redis, and its timings, whatever the file says by then', () => {
  const { primary, worker, workerRateLimit } = primaryThenWorker(
    { port: 18080, db: '/srv/tollgate/group.db', shutdown_grace_ms: 500 },
    {
      port: 18081, db: '/srv/tollgate/other.db', database_url: 'postgres://tollgate@db.internal/tollgate', database_password: 's3cret',
      redis_url: 'redis://cache.internal:6379', redis_password: 'r3dis', shutdown_grace_ms: 60_000, database_timeout_ms: 30_000,
      reservation_ttl_sec: 30, upstream_timeout_ms: 120_000, rate_limit_per_min: 60,
    },
  )
  expect(worker).toEqual(primary)
  expect(primary).toMatchObject({ db: '/srv/tollgate/group.db', database_url: undefined, redis_url: undefined, shutdown_grace_ms: 500 })
  expect(workerRateLimit).toBe(60)
})

test('a Postgres group\'s worker keeps the group\'s database, with its password, and its Redis', () => {
  const { primary, worker } = primaryThenWorker(
    { database_url: 'postgres://tollgate@db.internal/tollgate', database_password: 'p@ss/word', redis_url: 'redis://cache.internal:6379', database_timeout_ms: 4_000 },
    { database_url: 'postgres://other@db2.internal/other', database_password: 'changed', database_timeout_ms: 30_000 },
  )
  expect(worker).toEqual(primary)
  expect(primary).toMatchObject({ redis_url: 'redis://cache.internal:6379', database_timeout_ms: 4_000 })
  expect(new URL(primary.database_url as string).host).toBe('db.internal')
})

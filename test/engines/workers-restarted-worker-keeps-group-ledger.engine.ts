/**
 * README (TOLLGATE_WORKERS, "One database, one port, for the group's life"): the primary hands each worker, a
 * restarted one too, the store it started with, over what the configuration file says by then. A SQLite group whose
 * file is given a `database_url` (the operator preparing a move to Postgres) must not have a restarted worker open
 * Postgres: it would keep a second ledger, its clients' keys unknown there (401), or, once the data is copied, every
 * budget spendable once per ledger.
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider } from '../support/mock-provider'
import { spawnWorkerGroup } from '../support/worker-group'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

test('a SQLite group\'s worker restarted after database_url was added to the file keeps serving the group\'s SQLite ledger', async () => {
  const url = await pg.database('group_edit_database_url')
  const mock = startMockProvider({ latencyMs: 20 })
  cleanups.push(() => mock.stop())
  const group = spawnWorkerGroup({ workers: 2, log_level: 'warn' }, cleanups, mock)
  expect(await group.serving(2, 30_000)).toBe(true)
  const key = await group.userWithKey({ id: 'u1', max_budget: 10 })

  // Ahead of the planned move to Postgres, the operator adds database_url to the file; meanwhile both workers crash.
  const file = join(group.dir, 'tollgate.yaml')
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), database_url: url }))
  for (const pid of group.workerPids()) process.kill(pid, 'SIGKILL')
  expect(await group.serving(4, 40_000)).toBe(true)

  // A new connection each: the kernel spreads them over both restarted workers.
  const statuses = new Set<number>()
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${group.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    })
    await r.text()
    statuses.add(r.status)
  }
  const direct = new Bun.SQL(url)
  cleanups.push(() => direct.close())
  const tables = Number((await direct`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'`)[0].n)
  expect({ statuses: [...statuses], postgresTablesCreated: tables }).toEqual({ statuses: [200], postgresTablesCreated: 0 })
}, 120_000)

/**
 * Token counts an older tollgate recorded as the provider reported them: before 77360a0 read each as at most a
 * billion, two answers of 5e18 prompt tokens went into the usage rows as they came, and SQLite's sum() over them
 * overflows its 64-bit integer. Usage rows are never written again, so an upgraded install keeps them: the upgrade
 * reads them as today's gateway would (a billion each), whether the rollups are yet to be made from them (0004's
 * backfill) or already sum them (0027), and the gateway starts and answers its totals.
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { MIGRATIONS, openDatabase } from '../src/db/open'
import { spawnGateway, tempDir } from './support/gateway'

const dir = tempDir()
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A database file as the shipped migrations before `tag` left it. */
function migratedBefore(tag: string, name: string): Database {
  const previous = join(dir, `drizzle-before-${tag}`)
  cpSync(MIGRATIONS, previous, { recursive: true })
  const journal = JSON.parse(readFileSync(join(previous, 'meta', '_journal.json'), 'utf8'))
  for (const e of journal.entries.filter((e: { tag: string }) => e.tag >= tag)) rmSync(join(previous, `${e.tag}.sql`))
  journal.entries = journal.entries.filter((e: { tag: string }) => e.tag < tag)
  writeFileSync(join(previous, 'meta', '_journal.json'), JSON.stringify(journal))
  const client = new Database(join(dir, name), { create: true })
  migrate(drizzle({ client }), { migrationsFolder: previous })
  return client
}

/** Two answers of 5e18 prompt tokens, on two models, as a version before the cap recorded them. */
function recordEnormousAnswers(client: Database, now: number): void {
  client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 2000, 0, 0, ?, ?)`, [now, now])
  client.run(
    `INSERT INTO usage (request_id, created_at, user_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
     VALUES ('req-1', ?, 'team', 'plain:a', 'plain', 'chat', 5000000000000000000, 1, 1000, 1000, 'ok'),
            ('req-2', ?, 'team', 'plain:b', 'plain', 'chat', 5000000000000000000, 1, 1000, 1000, 'ok')`,
    [now, now],
  )
}

test('the usage totals of an install that recorded 5e18 prompt tokens twice before the cap still answer after the upgrade', async () => {
  const client = migratedBefore('0027', 'summed.db')
  recordEnormousAnswers(client, Date.now())
  client.close()
  const gw = await spawnGateway({ dbPath: join(dir, 'summed.db') })
  try {
    const answers: Record<string, number> = {}
    for (const path of ['/v1/usage/summary', '/v1/usage/overview', `/v1/users/team/usage`]) answers[path] = (await gw.admin('GET', path)).status
    expect(answers).toEqual({ '/v1/usage/summary': 200, '/v1/usage/overview': 200, '/v1/users/team/usage': 200 })
    const { totals } = (await gw.admin('GET', '/v1/usage/summary')).body
    expect({ cost: totals.cost, prompt_tokens: totals.prompt_tokens }).toEqual({ cost: 0.002, prompt_tokens: 2_000_000_000 })
  } finally {
    await gw.stop()
  }
}, 60_000)

test('an install that recorded 5e18 prompt tokens twice before the rollups opens, its rollups summing a billion each', () => {
  const client = migratedBefore('0004', 'unsummed.db')
  const now = Date.now()
  recordEnormousAnswers(client, now)
  client.close()
  const db = openDatabase(join(dir, 'unsummed.db'))
  try {
    const sums = (table: string) => db.$client.query(`SELECT sum(prompt_tokens) AS prompt_tokens, sum(requests) AS requests FROM ${table}`).get()
    for (const table of ['usage_daily', 'usage_daily_models', 'usage_daily_users']) expect(sums(table)).toEqual({ prompt_tokens: 2_000_000_000, requests: 2 })
    expect(db.$client.query('SELECT max(prompt_tokens) AS most FROM usage').get()).toEqual({ most: 1_000_000_000 })
  } finally {
    db.$client.close()
  }
})

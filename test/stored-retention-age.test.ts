import { afterAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { Database } from 'bun:sqlite'
import { startGateway } from '../src/server'
import { MASTER_KEY, tempDir, testConfig } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream } from './support/scripted-upstream'
import { databaseFor, execPostgres, queryPostgres, TEST_DATABASE_URL } from './support/test-store'

/**
 * README: stored response ids "older than this [`TOLLGATE_RESPONSES_RETENTION_DAYS`] are pruned at startup and
 * hourly ... `0` keeps them all, and otherwise it must be at least 31". The prune is at the documented age, to the
 * day: a row younger than the retention is kept (the provider may still serve it, and an item's row is what holds a
 * request naming it; forgotten, a request naming it by reference is refused 404 while the provider keeps it), and one
 * older is gone. The existing retention test ages rows 90 days against 60, so a cutoff a day early or late passes it.
 * Here at the smallest retention allowed (31 days): a row 30.5 days old stays, a row 31.5 days old goes.
 */
const upstream = startScriptedUpstream()
const dirs: string[] = []
afterAll(async () => {
  await upstream.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
const DAY_MS = 86_400_000
const master = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }

test('stored ids are pruned at the retention to the day: 30.5 days old kept, 31.5 days old gone (retention 31)', async () => {
  const dir = tempDir()
  dirs.push(dir)
  const settings = testConfig(
    { config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, responses_retention_days: 31 } },
    dir,
  )
  if (TEST_DATABASE_URL) settings.database_url = await databaseFor(settings.db)
  const url = settings.database_url
  const query = <T = any>(sql: string, ...params: unknown[]): T[] => {
    if (url) return queryPostgres(url, sql, params)
    const db = new Database(settings.db, { readonly: true })
    try {
      return db.query(sql).all(...(params as any[])) as T[]
    } finally {
      db.close()
    }
  }
  const exec = (sql: string, ...params: unknown[]) => {
    if (url) return execPostgres(url, sql, params)
    const db = new Database(settings.db)
    try {
      db.run(sql, params as any[])
    } finally {
      db.close()
    }
  }
  const ids = () => query<{ id: string }>('SELECT id FROM stored_responses ORDER BY id').map((r) => r.id)
  const age = (rowIds: string[], days: number) =>
    exec(`UPDATE stored_responses SET created_at = created_at - ? WHERE id IN (${rowIds.map(() => '?').join(', ')})`, Math.round(days * DAY_MS), ...rowIds)

  let gw = await startGateway(settings)
  await fetch(`${gw.url}/v1/users`, { method: 'POST', headers: master, body: JSON.stringify({ id: 'ret' }) })
  const key = (await (await fetch(`${gw.url}/v1/keys`, { method: 'POST', headers: master, body: JSON.stringify({ user_id: 'ret' }) })).json()) as { key: string }
  const auth = { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }
  for (const id of ['young', 'old']) {
    upstream.answer(() =>
      jsonResponse({
        id: `resp_${id}`, object: 'response', status: 'completed', model: 'm',
        usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 },
        output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      }),
    )
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'plain:m', input: 'hi' }) })
    expect(res.status).toBe(200)
    await res.text()
  }
  await gw.stop()
  expect(ids()).toEqual(['msg_old', 'msg_young', 'resp_old', 'resp_young'])

  // Half a day either side of the retention, far from any clock skew between ageing and the prune.
  age(['resp_young', 'msg_young'], 30.5)
  age(['resp_old', 'msg_old'], 31.5)

  // Restarted on the database: the retention prune runs at startup.
  gw = await startGateway(settings)
  await Bun.sleep(500)
  await gw.stop()
  expect(ids()).toEqual(['msg_young', 'resp_young'])
}, 60_000)

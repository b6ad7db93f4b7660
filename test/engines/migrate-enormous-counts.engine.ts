/**
 * `tollgate migrate` over token counts an older tollgate recorded unbounded. Before 77360a0 ("A provider's token
 * count is read as at most a billion") a provider's reported count went into the usage row as it came: SQLite keeps
 * 5e18 (an integer) and 1e19 (past 64 bits: a REAL). Today's gateway caps every count at a billion, the Postgres
 * store never sees more, and rows an older version wrote that Postgres cannot hold as they are go over as the
 * Postgres store writes them. Here an install of 257fa20 that recorded such answers is brought up to date by this
 * version (as migrate's refusal says to) and migrated: every usage row reaches Postgres, the cost charged for it
 * intact, the counts as today's gateway reads them (at most a billion).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { spawnGateway, tempDir } from '../support/gateway'
import { runMigrate } from '../support/cli'
import { spawnOld } from '../support/old-build'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

const OLD = '257fa20'
let pg: TestPostgres
let upstream: ScriptedUpstream
beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
})
afterAll(async () => {
  await upstream?.stop()
  await pg?.destroy()
})

const answerWithPromptTokens = (n: string) => () =>
  new Response(
    `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],` +
      `"usage":{"prompt_tokens":${n},"completion_tokens":1,"total_tokens":${n}}}`,
    { headers: { 'content-type': 'application/json' } },
  )
const chat = async (url: string, secret: string) => {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  })
  await res.text()
  return res.status
}
const answerResponseWithInputTokens = (n: string) => () =>
  new Response(
    `{"id":"resp_enormous","object":"response","created_at":1,"status":"completed","model":"m","output":[{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"ok","annotations":[]}]}],` +
      `"usage":{"input_tokens":${n},"input_tokens_details":{"cached_tokens":0},"output_tokens":1,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":${n}}}`,
    { headers: { 'content-type': 'application/json' } },
  )
const respond = async (url: string, secret: string) => {
  const res = await fetch(`${url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_output_tokens: 10, input: 'hi' }),
  })
  await res.text()
  return res.status
}

async function oldInstall(answers: string[]) {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const cfg = { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }
  const old = await spawnOld(OLD, { dbPath: file, config: cfg })
  let spend = 0
  try {
    // No budget: the first answer's cost is past any, and a budget would refuse the next request (402) as soon as
    // that answer is settled, which the old version does after replying, so sometimes first.
    expect((await old.admin('POST', '/v1/users', { id: 'team' })).status).toBe(201)
    const key = (await old.admin('POST', '/v1/keys', { user_id: 'team' })).body.key as string
    for (const n of answers) {
      const [kind, count] = n.startsWith('responses:') ? ['responses', n.slice(10)] : ['chat', n]
      upstream.answer(kind === 'responses' ? answerResponseWithInputTokens(count) : answerWithPromptTokens(count))
      expect(await (kind === 'responses' ? respond : chat)(old.url, key)).toBe(200)
    }
    for (let i = 0; i < 50; i++) {
      const u = (await old.admin('GET', '/v1/users/team')).body
      spend = u.spend
      if (u.reserved === 0) break
      await Bun.sleep(100)
    }
  } finally {
    await old.stop()
  }
  return { dir, file, cfg, spend }
}

async function upgradeAndMigrate(name: string, answers: string[]) {
  const { dir, file, cfg, spend } = await oldInstall(answers)
  try {
    // migrate refuses the old file until this version has opened it once: do as its message says.
    let upgraded: string
    try {
      const gw = await spawnGateway({ dbPath: file, config: cfg })
      await gw.stop()
      upgraded = 'ok'
    } catch (error) {
      upgraded = String((error as Error).message).split('\n').filter((l) => /overflow|refusing|failed|Error/i.test(l)).join(' / ') || 'failed'
    }
    expect(upgraded).toBe('ok')
    const source = new Database(file, { readonly: true })
    const storedIds = (source.query('SELECT id FROM stored_responses ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id)
    source.close()
    const url = await pg.database(name)
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    if (done.code !== 0) console.error(done.output)
    expect(done.code).toBe(0)
    const sql = new Bun.SQL(url)
    try {
      const [row] = await sql`SELECT count(*)::int AS n, sum(cost)::bigint AS cost, max(prompt_tokens)::bigint AS most FROM usage`
      expect((await sql`SELECT id FROM stored_responses ORDER BY id`).map((r: { id: string }) => r.id)).toEqual(storedIds)
      expect({ n: row.n, cost: Number(row.cost) / 1e6, mostAtMostABillion: Number(row.most) <= 1e9 }).toEqual({ n: answers.length, cost: spend, mostAtMostABillion: true })
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

test('an older install that recorded 1e19 prompt tokens (past bigint) is migrated, every usage row with it', async () => {
  await upgradeAndMigrate('enormous_1e19', ['10000000000000000000', '12'])
}, 180_000)

test('an older install that recorded 5e18 prompt tokens twice (their rollup sum past 64 bits) is upgraded and migrated', async () => {
  await upgradeAndMigrate('enormous_5e18', ['5000000000000000000', '5000000000000000000'])
}, 180_000)

test('an older install whose stored Responses id recorded a context of 1e19 tokens is migrated, the id with it', async () => {
  // Its usage row (1e19 prompt tokens) and its stored id (context_tokens 1e19 + 1): both past what bigint holds.
  await upgradeAndMigrate('enormous_stored', ['responses:10000000000000000000'])
}, 180_000)

test('two usage rows of 5e18 prompt tokens each (as a version with the rollups but before the cap wrote them) are migrated', async () => {
  // Each fits a bigint; the Postgres rollup trigger's sum of the two does not. SQLite's trigger added them as a REAL.
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const { openDatabase } = await import('../../src/db/open')
  const db = openDatabase(file)
  const now = Date.now()
  db.$client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 2000, 0, 0, ?, ?)`, [now, now])
  db.$client.run(
    `INSERT INTO usage (request_id, created_at, user_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
     VALUES ('req-1', ?, 'team', 'plain:m', 'plain', 'chat', 5000000000000000000, 1, 1000, 1000, 'ok'),
            ('req-2', ?, 'team', 'plain:m', 'plain', 'chat', 5000000000000000000, 1, 1000, 1000, 'ok')`,
    [now, now],
  )
  db.$client.close()
  const url = await pg.database('enormous_pair')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    if (done.code !== 0) console.error(done.output)
    expect(done.code).toBe(0)
    expect(done.output).toContain('2 with a count over 1,000,000,000, written as that')
    const sql = new Bun.SQL(url)
    try {
      const [row] = await sql`SELECT count(*)::int AS n, sum(cost)::int AS cost FROM usage`
      expect({ n: row.n, cost: row.cost }).toEqual({ n: 2, cost: 2000 })
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

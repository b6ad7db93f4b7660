/**
 * A burst of conversation turns from many users across 3 replicas, with nothing holding stored_responses but the
 * gateway itself. README: 503 database_busy is for "a lock that stops the stored ids' writes" (an index build without
 * CONCURRENTLY, a LOCK TABLE); under ordinary load no turn may be refused. A conversation's lookup that took SHARE (100
 * ms at most, else 503) waited for every replica's stored-id writes under way and made the writes behind it wait in
 * turn, one table-wide queue for all users: a few turns of such a burst were refused.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
const replicas: SpawnedGateway[] = []
let sql: InstanceType<typeof Bun.SQL>

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(async ({ body }) => {
    const conversation: string = body.conversation ?? String(body.input).split(' ')[1]
    const id = `resp_${++n}`
    const message = { id: `msg_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'k' }] }
    return Response.json({
      id, object: 'response', created_at: 1, status: 'completed', model: 'm', output: [message], store: true,
      conversation: { id: conversation },
      usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 31 },
    })
  })
  const url = await pg.database('conversation_burst')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
  }
  for (let i = 0; i < 3; i++) replicas.push(await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url } }))
  sql = new Bun.SQL(url)
}, 90_000)

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()))
  await sql?.close()
  await upstream?.stop()
  await pg?.destroy()
})

const post = (url: string, secret: string, body: unknown) =>
  fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('240 users each taking 8 conversation turns at once, round-robin over 3 replicas: no turn refused 503', async () => {
  const USERS = 240
  const TURNS = 8
  const users = await Promise.all(Array.from({ length: USERS }, async (_, u) => {
    const { secret } = await replicas[0]!.userWithKey({ id: `conv-burst-${u}`, max_budget: 10 })
    // Every replica knows the key before the burst.
    for (const r of replicas) expect((await fetch(`${r.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
    return secret
  }))
  const statuses: Record<string, number> = {}
  const codes: Record<string, number> = {}
  await Promise.all(users.map(async (secret, u) => {
    const first = await post(replicas[u % 3]!.url, secret, { model: 'plain:m', input: `start conv_burst_${u}`, max_output_tokens: 16 })
    await first.arrayBuffer()
    for (let t = 1; t < TURNS; t++) {
      const r = await post(replicas[(u + t) % 3]!.url, secret, { model: 'plain:m', input: `turn ${t}`, conversation: `conv_burst_${u}`, max_output_tokens: 16 })
      const body: any = await r.json()
      statuses[r.status] = (statuses[r.status] ?? 0) + 1
      if (r.status !== 200) codes[body.error?.code ?? '?'] = (codes[body.error?.code ?? '?'] ?? 0) + 1
    }
  }))
  expect({ statuses, codes }).toEqual({ statuses: { 200: USERS * (TURNS - 1) }, codes: {} })
}, 120_000)

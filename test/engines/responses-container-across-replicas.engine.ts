/**
 * A code interpreter container is recorded on Postgres for the user whose response ran in it, as a stored response
 * is, and written before the answer is given (with `store: false` too, when no response is kept): that user names it
 * again on another replica at once, and another user naming it there is refused 404 before the provider is called.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

const CONTAINER = 'cntr_pg_alice'
const usage = { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 25 }

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(() =>
    Response.json({
      id: `resp_${++n}`, object: 'response', status: 'completed', model: 'm', usage,
      output: [{ id: `ci_${n}`, type: 'code_interpreter_call', status: 'completed', code: 'print(1)', container_id: CONTAINER, outputs: null }],
    }),
  )
  const url = await pg.database('containers')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_interpreter: 0.03 } } },
  }
  const env = { TOLLGATE_DATABASE_URL: url }
  a = await spawnGateway({ config, env })
  b = await spawnGateway({ config, env })
  sql = new Bun.SQL(url)
}, 60_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await sql?.close()
  await upstream?.stop()
  await pg?.destroy()
})

const post = (url: string, secret: string, body: unknown) =>
  fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test("a container run in through replica A is its user's on replica B at once, and no one else's", async () => {
  const alice = await a.userWithKey({ id: 'alice', max_budget: 5 })
  const mallory = await a.userWithKey({ id: 'mallory', max_budget: 5 })
  // Both replicas have verified (cached) the keys, as a client's earlier traffic would leave them.
  for (const { secret } of [alice, mallory]) expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)

  const first = await post(a.url, alice.secret, { model: 'plain:m', input: 'analyse', store: false, tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] })
  expect(first.status).toBe(200)
  await first.arrayBuffer()
  const again = { model: 'plain:m', input: 'go on', store: false, tools: [{ type: 'code_interpreter', container: CONTAINER }] }
  const byAlice = await post(b.url, alice.secret, again)
  await byAlice.arrayBuffer()
  const calls = upstream.calls.length
  const byMallory = await post(b.url, mallory.secret, again)
  const refusal = (await byMallory.json()) as { error?: { code?: string } }
  await Promise.all([a.settled(), b.settled()])

  const [row] = await sql`SELECT kind, user_id FROM stored_responses WHERE id = ${CONTAINER}`
  expect({ alice: byAlice.status, mallory: byMallory.status, code: refusal.error?.code, malloryCalledProvider: upstream.calls.length > calls, row: { ...row } })
    .toEqual({ alice: 200, mallory: 404, code: 'container_not_found', malloryCalledProvider: false, row: { kind: 'container', user_id: 'alice' } })
}, 30_000)

/**
 * The code execution container a Messages answer ran in is recorded on Postgres for the user billed for it, and
 * written before the answer is given (the JSON answer here; a stream's `message_delta` likewise): that user names it
 * again on another replica at once, and another user naming it there is refused 404 before the provider is called.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

const CONTAINER = 'container_pg_alice'

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(() =>
    jsonResponse({
      id: `msg_${++n}`, type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'done' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 5 }, container: { id: CONTAINER, expires_at: '2026-12-05T00:00:00Z' },
    }),
  )
  const url = await pg.database('messages_containers')
  const config = {
    providers: { ant: { type: 'anthropic', base_url: upstream.url, api_key: 'sk-ant-scripted-secret-0123456789' } },
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_execution: 0.05 } } },
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

const post = (url: string, secret: string, body: Record<string, unknown>) =>
  fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 64, messages: [{ role: 'user', content: 'analyse' }], tools: [{ type: 'code_execution_20250825', name: 'code_execution' }], ...body }),
  })

test("a container run in through replica A is its user's on replica B at once, and no one else's", async () => {
  const alice = await a.userWithKey({ id: 'alice', max_budget: 5 })
  const mallory = await a.userWithKey({ id: 'mallory', max_budget: 5 })
  // Both replicas have verified (cached) the keys, as a client's earlier traffic would leave them.
  for (const { secret } of [alice, mallory]) expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)

  const first = await post(a.url, alice.secret, {})
  expect(first.status).toBe(200)
  await first.arrayBuffer()
  const byAlice = await post(b.url, alice.secret, { container: CONTAINER })
  await byAlice.arrayBuffer()
  const calls = upstream.calls.length
  const byMallory = await post(b.url, mallory.secret, { container: CONTAINER })
  const refusal = (await byMallory.json()) as { error?: { type?: string } }
  await Promise.all([a.settled(), b.settled()])

  const [row] = await sql`SELECT kind, user_id FROM stored_responses WHERE id = ${CONTAINER}`
  expect({ alice: byAlice.status, mallory: byMallory.status, type: refusal.error?.type, malloryCalledProvider: upstream.calls.length > calls, row: { ...row } })
    .toEqual({ alice: 200, mallory: 404, type: 'not_found_error', malloryCalledProvider: false, row: { kind: 'container', user_id: 'alice' } })
}, 30_000)

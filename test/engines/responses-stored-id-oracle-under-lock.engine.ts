/**
 * While the stored ids' writes are locked, another user's stored id is answered as an id nobody created.
 *
 * README (Stored state): a stored id is its user's only — "anyone else ... gets 404 `response_not_found`"; and "a lookup
 * of an id not found while the stored ids cannot be written ... is a 503 `database_busy`, never a 404". To anyone but
 * its owner an id is not found, so both are the same answer. Once a row of another user was a 404 and no row a 503:
 * during an index build on stored_responses, any key holder could tell which ids (responses, conversations, items)
 * the gateway holds for other users — ids leaked in a log or a shared transcript confirmed live and attributed to
 * this gateway's tenants.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let gw: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(() =>
    Response.json({
      id: `resp_${++n}`, object: 'response', created_at: 1, status: 'completed', model: 'm', store: true,
      output: [{ id: `msg_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'ok' }] }],
      usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 21 },
    }),
  )
  const url = await pg.database('stored_id_oracle_lock')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
  }
  gw = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url } })
  sql = new Bun.SQL(url)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await sql?.close()
  await upstream?.stop()
  await pg?.destroy()
})

test("during an index build, another user's stored id and an id nobody created get the same answer", async () => {
  const alice = (await gw.userWithKey({ id: 'oracle-alice' })).secret
  const mallory = (await gw.userWithKey({ id: 'oracle-mallory' })).secret
  const made = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'plain:m', input: 'secret plans' }),
  })
  expect(made.status).toBe(200)
  const aliceId = ((await made.json()) as any).id as string

  const c = await sql.reserve()
  let answers: string[]
  try {
    await c`BEGIN`
    await c`LOCK TABLE stored_responses IN SHARE MODE`
    const ask = async (id: string) => {
      const r = await fetch(`${gw.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${mallory}` } })
      return `${r.status} ${((await r.json()) as any).error?.code}`
    }
    answers = [await ask(aliceId), await ask('resp_nobody_made_this')]
  } finally {
    await c`ROLLBACK`
    c.release()
  }
  // Whatever the answer (503 database_busy while locked), it must not differ between the two.
  expect(answers[0]).toBe(answers[1]!)
}, 60_000)

test("during an index build, a request continuing another user's response or naming its item is answered as one naming ids nobody created", async () => {
  const alice = (await gw.userWithKey({ id: 'oracle-alice-2' })).secret
  const mallory = (await gw.userWithKey({ id: 'oracle-mallory-2' })).secret
  const made = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'plain:m', input: 'secret plans' }),
  })
  expect(made.status).toBe(200)
  const response = (await made.json()) as any
  const calls = upstream.calls.length

  const c = await sql.reserve()
  let answers: string[][]
  try {
    await c`BEGIN`
    await c`LOCK TABLE stored_responses IN SHARE MODE`
    const create = async (body: Record<string, unknown>) => {
      const r = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST', headers: { authorization: `Bearer ${mallory}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'plain:m', store: false, ...body }),
      })
      return `${r.status} ${((await r.json()) as any).error?.code}`
    }
    const chained = (id: string) => create({ previous_response_id: id, input: 'go on' })
    const referenced = (id: string) => create({ input: [{ type: 'item_reference', id }] })
    answers = [
      [await chained(response.id), await chained('resp_nobody_made_this')],
      [await referenced(response.output[0].id), await referenced('msg_nobody_made_this')],
    ]
  } finally {
    await c`ROLLBACK`
    c.release()
  }
  expect(answers.map(([theirs, nobodys]) => theirs === nobodys)).toEqual([true, true])
  expect(upstream.calls.length).toBe(calls)
}, 60_000)

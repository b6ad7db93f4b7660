/**
 * `tollgate prices set MODEL --output X` keeps every other field of the price in force, and the console's price form
 * keeps the rates in force, "read again as the row is written". Both read the price in force with
 * `GET /v1/pricing/{model}`, then POST a whole new row. Behind a load balancer that GET may reach another replica than
 * the change before it, and the admin route answered from that replica's request-path price cache (trusted for
 * TOLLGATE_CACHE_TTL_MS), not from the database every replica shares: an input rate raised through replica A was
 * carried back at its old value by a `prices set` of the output rate through replica B, and the row written stayed
 * the price in force for good, every request billed the old input rate.
 *
 * Admin price reads now come from the database, and a read-modify-write names the row it was based on (`based_on`):
 * a change of the model between the read and the write is refused (409 price_changed), on any replica.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { runTollgate } from '../support/cli'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    }),
  )
  const url = await pg.database('price_carry')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 }, 'plain:race': { input_per_million: 1, output_per_million: 1 } },
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

/** Replica B serves the model, so that its price is in B's cache, as on any replica under traffic. */
async function servedThroughB(model: string): Promise<void> {
  const { secret } = await a.userWithKey({ id: `serve-${model.replace(':', '-')}` })
  const served = await fetch(`${b.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(served.status).toBe(200)
  await served.text()
}

const inForceInDatabase = async (model: string) => {
  const [row] = await sql`
    SELECT id, input_per_million, output_per_million FROM prices
    WHERE model = ${model} AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1`
  return { id: Number(row.id), input: Number(row.input_per_million), output: Number(row.output_per_million) }
}

test('prices set through replica B right after a price change through replica A keeps the rates now in force', async () => {
  await servedThroughB('plain:m')
  // Operator 1 raises the input rate through replica A.
  const raised = await a.admin('POST', '/v1/pricing', { model: 'plain:m', input_per_million: 10, output_per_million: 1 })
  expect(raised.status).toBe(201)
  // The reads a change is made from, through replica B: the row just written (the catalog's diff reads the list).
  const one = await b.admin('GET', '/v1/pricing/plain:m')
  const list = await b.admin('GET', '/v1/pricing')
  expect({ one: one.body.id, listed: list.body.data.find((p: any) => p.model === 'plain:m')?.id }).toEqual({ one: raised.body.id, listed: raised.body.id })

  // Operator 2 then changes only the output rate; the load balancer sends the CLI to replica B.
  const set = await runTollgate(b.url, ['prices', 'set', 'plain:m', '--output', '2'])
  expect(set.code).toBe(0)
  // The new output rate, and the input rate in force when it was set.
  expect(await inForceInDatabase('plain:m')).toMatchObject({ input: 10_000_000, output: 2_000_000 })
}, 30_000)

test('two changes based on the same row, through replicas A and B at once: one is written, the other refused 409 price_changed', async () => {
  await servedThroughB('plain:race')
  for (let round = 0; round < 5; round++) {
    const base = await inForceInDatabase('plain:race')
    const [throughA, throughB] = await Promise.all([
      a.admin('POST', '/v1/pricing', { model: 'plain:race', input_per_million: 10 + round, output_per_million: 1, based_on: base.id }),
      b.admin('POST', '/v1/pricing', { model: 'plain:race', input_per_million: 1, output_per_million: 20 + round, based_on: base.id }),
    ])
    const statuses = [throughA.status, throughB.status].sort()
    const refused = throughA.status === 409 ? throughA : throughB
    expect({ round, statuses, code: refused.body.error?.code }).toEqual({ round, statuses: [201, 409], code: 'price_changed' })
    const written = throughA.status === 201 ? throughA : throughB
    expect((await inForceInDatabase('plain:race')).id).toBe(written.body.id)
  }
}, 30_000)

/**
 * What a replica records about stored Responses ids (who owns each, and its size) is written behind, and a lookup
 * writes only its own process's queue. Behind a load balancer the next request of a chain lands on another
 * replica at once, so the ids are written before the client is given them: the JSON answer, or a stream's final
 * event, waits for them. Before, the other replica did not know them yet: a `store: false` request naming a
 * stored item by id was held as if the item did not exist (the provider still reads it and bills it: $8.03 on a
 * $5 budget with cap-output on), and a `previous_response_id` was refused 404.
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

/** The big assistant message R1 returns: 8000 bytes, which the provider bills again as input when an item names it. */
const BIG_TEXT = 'x'.repeat(8000)
/** Items R1 returns before the big one (a model's long multi-part answer): each is a row the replica writes behind. */
const SMALL_ITEMS = 100

const stored = new Map<string, number>()

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(({ body }) => {
    const id = `resp_${++n}`
    const items = Array.isArray(body.input) ? body.input : []
    // The provider's bill: the request's own text, plus every stored item it names by id (read from its store).
    let input = 20
    for (const item of items) if (typeof item?.id === 'string' && stored.has(item.id)) input += stored.get(item.id)!
    const output = Math.min(10, body.max_output_tokens ?? 10)
    const out: any[] = []
    if (body.store !== false) {
      for (let i = 0; i < SMALL_ITEMS; i++)
        out.push({ id: `msg_${n}_${i}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'ok' }] })
      const big = `msg_${n}_big`
      out.push({ id: big, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: BIG_TEXT }] })
      stored.set(big, BIG_TEXT.length)
    } else out.push({ id: `msg_${n}_x`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'ok' }] })
    const response = {
      id, object: 'response', created_at: Math.floor(Date.now() / 1000), status: 'completed', model: 'm', output: out,
      store: body.store !== false, usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output },
    }
    if (!body.stream) return Response.json(response)
    const event = (type: string, n: number, fields: object) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...fields })}\n\n`
    return new Response(
      event('response.created', 0, { response: { ...response, status: 'in_progress', output: [], usage: null } }) + event('response.completed', 1, { response }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
  const url = await pg.database('stored_items')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    // $0.001 a token, in and out.
    pricing: { 'plain:m': { input_per_million: 1000, output_per_million: 1000 } },
  }
  const env = { TOLLGATE_DATABASE_URL: url, TOLLGATE_CAP_OUTPUT_TOKENS: 'true' }
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

test('an item stored through replica A and named by id (store: false) on replica B at once is held for: spend stays within max_budget (cap-output on)', async () => {
  // $5: R1 (~$0.03) fits; R2 with the 8000-token item it names ($8+) does not.
  const { secret } = await a.userWithKey({ id: 'chain', max_budget: 5 })
  // Both replicas have verified (cached) the key, as a client's earlier traffic would leave them.
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)

  const r1 = await post(a.url, secret, { model: 'plain:m', input: 'write a lot', max_output_tokens: 10 })
  expect(r1.status).toBe(200)
  const first = (await r1.json()) as any
  const big = first.output.at(-1).id as string
  // The client continues at once; the load balancer sends it to B. The stored item comes back by id only.
  const r2 = await post(b.url, secret, {
    model: 'plain:m', store: false, max_output_tokens: 10,
    input: [{ type: 'message', id: big, role: 'assistant' }, { role: 'user', content: 'go on' }],
  })
  const r2Status = r2.status
  await r2.arrayBuffer()
  await a.settled()
  await b.settled()

  // The item was recorded (by A), so the gateway knew its size: it is the race between replicas, not a missing record.
  const [row] = await sql`SELECT context_tokens FROM stored_responses WHERE id = ${big}`
  expect(Number(row?.context_tokens)).toBeGreaterThanOrEqual(BIG_TEXT.length)

  const user = (await a.admin('GET', '/v1/users/chain')).body
  const usage = await sql`SELECT cost, reserved, request_id FROM usage WHERE user_id = 'chain' ORDER BY id`
  // What the provider billed for R2 must have been held: refused (402), or served with a hold that covers its bill.
  const billedR2 = usage.slice(1).map((u: any) => ({ cost: Number(u.cost), reserved: Number(u.reserved) }))
  expect({ r2Status, spend: user.spend, withinBudget: user.spend <= 5, r2CoveredByHold: billedR2.every((u: { cost: number; reserved: number }) => u.cost <= u.reserved) })
    .toEqual({ r2Status: 402, spend: user.spend, withinBudget: true, r2CoveredByHold: true })
}, 30_000)

test('a response created through replica A can be chained (previous_response_id) on replica B at once', async () => {
  const { secret } = await a.userWithKey({ id: 'chain2' })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const r1 = await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 10 })
  expect(r1.status).toBe(200)
  const first = (await r1.json()) as any
  const r2 = await post(b.url, secret, { model: 'plain:m', previous_response_id: first.id, input: 'and then?', max_output_tokens: 10 })
  const text = await r2.text()
  expect({ status: r2.status, body: r2.status === 200 ? 'ok' : text }).toEqual({ status: 200, body: 'ok' })
}, 30_000)

test('an item of a response streamed through replica A, named by id on replica B as soon as the stream ends, is held for', async () => {
  const { secret } = await a.userWithKey({ id: 'chain3', max_budget: 5 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const r1 = await post(a.url, secret, { model: 'plain:m', input: 'write a lot', max_output_tokens: 10, stream: true })
  expect(r1.status).toBe(200)
  const completed = (await r1.text()).split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6))).at(-1)
  expect(completed.type).toBe('response.completed')
  const big = completed.response.output.at(-1).id as string
  const r2 = await post(b.url, secret, {
    model: 'plain:m', store: false, max_output_tokens: 10,
    input: [{ type: 'message', id: big, role: 'assistant' }, { role: 'user', content: 'go on' }],
  })
  await r2.arrayBuffer()
  await a.settled()
  await b.settled()
  const user = (await a.admin('GET', '/v1/users/chain3')).body
  expect({ status: r2.status, withinBudget: user.spend <= 5 }).toEqual({ status: 402, withinBudget: true })
}, 30_000)

/**
 * README (Responses API, "Stored state"): the ids of an answer are written before the client gets them (the JSON
 * answer, or a stream's final event, waits for that write), so the next request of a chain finds them on any replica.
 *
 * On Postgres those ids are written with the background writers' 100 ms lock timeout, and a lock on their table (an
 * index build without CONCURRENTLY takes SHARE: inserts wait, reads go on) failed that write; the failure was
 * swallowed and the client given ids no other replica could find: a chain continued on replica B was a 404
 * response_not_found (the Agents SDK and Codex drop a chain on a 404), and a reasoning item sent back to B by id,
 * which the provider bills at the 600,000 tokens it kept, was not held there: 200 and $1.20 spent on a $1 budget.
 *
 * Now an answer's ids wait out such a lock until the database's deadline (3 s here), and if still unwritten the
 * answer is withheld (503 database_busy; a stream's error event instead of its final event), paid all the same;
 * the replica's next stored requests are refused before their provider call while the lock lasts. A lookup of an id not found while the stored ids' writes are locked is a 503 too, not a 404: another replica may
 * have handed it out (a stream's `response.created`) before writing it.
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

const REASONING = 600_000
/** Items the provider keeps, with the tokens it bills when a request names them by id. */
const kept = new Map<string, number>()
/** Streamed answers wait after `response.created` until this is resolved (see `streamPaused`). */
let resumeStream: Promise<void> = Promise.resolve()

const encoder = new TextEncoder()
const sse = (event: Record<string, unknown>) => encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(({ body }) => {
    const id = `resp_${++n}`
    let input = 20
    for (const item of Array.isArray(body.input) ? body.input : []) if (typeof item?.id === 'string' && kept.has(item.id)) input += kept.get(item.id)!
    const thinks = body.input === 'think hard'
    const message = { id: `msg_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'ok' }] }
    const output = thinks ? [{ id: `rs_${n}`, type: 'reasoning', summary: [] }, message] : [message]
    const outputTokens = thinks ? REASONING + 1 : 1
    if (thinks && body.store !== false) kept.set(`rs_${n}`, REASONING)
    const response = {
      id, object: 'response', created_at: 1, status: 'completed', model: 'm', output, store: body.store !== false,
      usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: thinks ? REASONING : 0 }, total_tokens: input + outputTokens },
    }
    if (body.stream !== true) return Response.json(response)
    const resume = resumeStream
    return new Response(
      new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(sse({ type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [], usage: null } }))
          await resume
          c.enqueue(sse({ type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { ...message, status: 'in_progress', content: [] } }))
          c.enqueue(sse({ type: 'response.output_text.delta', sequence_number: 2, output_index: 0, content_index: 0, item_id: message.id, delta: 'ok' }))
          c.enqueue(sse({ type: 'response.output_item.done', sequence_number: 3, output_index: 0, item: message }))
          c.enqueue(sse({ type: 'response.completed', sequence_number: 4, response }))
          c.close()
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
  const url = await pg.database('stored_ids_lock')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    // 1 µ$ a token, in and out.
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
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

/** A user with a key, known to both replicas (B has looked the key up). */
async function userOnBoth(user: Record<string, unknown>) {
  const { secret } = await a.userWithKey(user)
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  return secret
}

/**
 * Runs `during` while another session holds stored_responses in SHARE mode, as CREATE INDEX (without CONCURRENTLY)
 * does, for `forMs` (within the database deadline of 3 s: an index build that ends while the answer waits) or until
 * `during` ends.
 */
async function underIndexBuild<T>(during: () => Promise<T>, forMs = Infinity): Promise<T> {
  const c = await sql.reserve()
  let ended: Promise<unknown> | null = null
  const end = () => (ended ??= c`ROLLBACK`.finally(() => c.release()))
  try {
    await c`BEGIN`
    await c`LOCK TABLE stored_responses IN SHARE MODE`
    if (forMs !== Infinity) setTimeout(end, forMs)
    return await during()
  } finally {
    await end()
  }
}

const usageOf = async (user: string): Promise<Array<{ cost: number; status: string }>> => {
  await a.settled()
  await b.settled()
  return (await sql`SELECT cost, reserved, status FROM usage WHERE user_id = ${user} ORDER BY id`).map((u: any) => ({ cost: Number(u.cost), status: u.status }))
}

test('a response answered through replica A during an index build is found when chained on replica B', async () => {
  const secret = await userOnBoth({ id: 'chain-lock' })
  const { first, second } = await underIndexBuild(async () => {
    const r1 = await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16 })
    expect(r1.status).toBe(200)
    const first = (await r1.json()) as any
    const r2 = await post(b.url, secret, { model: 'plain:m', previous_response_id: first.id, input: 'and then?', max_output_tokens: 16 })
    return { first, second: { status: r2.status, body: await r2.text() } }
  }, 1_000)
  expect({ id: first.id, second: second.status }).toEqual({ id: first.id, second: 200 })
}, 30_000)

test('a reasoning item answered through replica A during an index build is held for on replica B (spend within max_budget, cap-output on)', async () => {
  const secret = await userOnBoth({ id: 'item-lock', max_budget: 1 })
  const r2Status = await underIndexBuild(async () => {
    // $0.60 of reasoning, within the $1 budget.
    const r1 = await post(a.url, secret, { model: 'plain:m', input: 'think hard', max_output_tokens: REASONING + 1 })
    expect(r1.status).toBe(200)
    const reasoning = ((await r1.json()) as any).output[0]
    // The next turn, store: false, sends the reasoning item back with its reasoning text but no encrypted_content:
    // the provider reads the reasoning it kept under the id (600,000 tokens, $0.60 on the $0.40 left).
    const r2 = await post(b.url, secret, {
      model: 'plain:m', store: false, max_output_tokens: 16,
      input: [{ ...reasoning, content: [{ type: 'reasoning_text', text: 'thought' }] }, { role: 'user', content: 'go on' }],
    })
    await r2.arrayBuffer()
    return r2.status
  }, 1_000)
  await usageOf('item-lock')
  const user = (await a.admin('GET', '/v1/users/item-lock')).body
  const usage = await sql`SELECT cost, reserved FROM usage WHERE user_id = 'item-lock' ORDER BY id`
  expect({ r2Status, withinBudget: user.spend <= 1, rows: usage.map((u: any) => Number(u.cost) <= Number(u.reserved)) })
    .toEqual({ r2Status: 402, withinBudget: true, rows: [true] })
}, 30_000)

test('an index build past the deadline: the JSON answer is withheld with a 503 database_busy the SDKs do not retry, and paid by its usage', async () => {
  const secret = await userOnBoth({ id: 'json-unwritten' })
  const started = performance.now()
  const r1 = await underIndexBuild(async () => {
    const r = await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16 })
    return { status: r.status, shouldRetry: r.headers.get('x-should-retry'), retryAfter: r.headers.get('retry-after'), body: (await r.json()) as any, waited: performance.now() - started }
  })
  expect({ status: r1.status, code: r1.body.error?.code, shouldRetry: r1.shouldRetry, retryAfter: r1.retryAfter, id: r1.body.id, waitedPastRidersBound: r1.waited > 1_000 })
    .toEqual({ status: 503, code: 'database_busy', shouldRetry: 'false', retryAfter: null, id: undefined, waitedPastRidersBound: true })
  // 20 input tokens and 1 output token at 1 µ$ each (the row in micro-USD); the row says the client did not get the answer.
  expect(await usageOf('json-unwritten')).toEqual([{ cost: 21, status: 'error' }])
  expect((await a.admin('GET', '/v1/users/json-unwritten')).body).toMatchObject({ spend: 0.000021, reserved: 0 })
}, 30_000)

test('an index build past the deadline: the stream ends with an error event in place of response.completed, and is paid by its usage', async () => {
  const secret = await userOnBoth({ id: 'stream-unwritten' })
  const text = await underIndexBuild(async () => (await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16, stream: true })).text())
  const events = text.split('\n\n').filter(Boolean).map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)))
  expect(events.map((e) => e.type)).toEqual(['response.created', 'response.output_item.added', 'response.output_text.delta', 'response.output_item.done', 'error'])
  expect(events.at(-1)).toMatchObject({ code: 'database_busy' })
  expect(await usageOf('stream-unwritten')).toEqual([{ cost: 21, status: 'error' }])
}, 30_000)

test('once a replica knows its stored ids are kept back by the lock, its next stored request is refused before the provider is called', async () => {
  const secret = await userOnBoth({ id: 'kept-back' })
  const result = await underIndexBuild(async () => {
    const first = await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16 })
    await first.arrayBuffer()
    const calls = upstream.calls.length
    // An SDK's automatic retry of the 503: refused free, not paid and withheld again.
    const retried = await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16 })
    const retriedCode = ((await retried.json()) as any).error?.code
    const providerCalled = upstream.calls.length > calls
    // Nothing to write, nothing refused.
    const unstored = await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16, store: false })
    await unstored.arrayBuffer()
    return { first: first.status, retried: `${retried.status} ${retriedCode}`, providerCalled, unstored: unstored.status }
  })
  expect(result).toEqual({ first: 503, retried: '503 database_busy', providerCalled: false, unstored: 200 })
  expect((await usageOf('kept-back')).map((u) => u.status)).toEqual(['error', 'ok'])
  // Once the lock is gone, stored requests are answered again.
  expect((await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16 })).status).toBe(200)
}, 30_000)

test('the id of a stream\'s response.created, looked up on replica B while stored ids cannot be written, is a 503 database_busy, not a 404', async () => {
  const secret = await userOnBoth({ id: 'created-lock' })
  let resume!: () => void
  resumeStream = new Promise<void>((r) => (resume = r))
  const result = await underIndexBuild(async () => {
    const stream = await post(a.url, secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16, stream: true })
    const reader = stream.body!.getReader()
    const { value } = await reader.read()
    const created = JSON.parse(new TextDecoder().decode(value).split('\n').find((l) => l.startsWith('data: '))!.slice(6))
    // Past A's own first try (100 ms): its write of the id is waiting for the lock.
    await Bun.sleep(300)
    const got = await fetch(`${b.url}/v1/responses/${created.response.id}`, { headers: { authorization: `Bearer ${secret}` } })
    const chained = await post(b.url, secret, { model: 'plain:m', previous_response_id: created.response.id, input: 'and then?', max_output_tokens: 16 })
    const answers = [`${got.status} ${((await got.json()) as any).error?.code}`, `${chained.status} ${((await chained.json()) as any).error?.code}`]
    resume()
    reader.cancel().catch(() => {})
    return answers
  })
  expect(result).toEqual(['503 database_busy', '503 database_busy'])
  // An id nobody created is still a 404 once the lock is gone.
  const unknown = await fetch(`${b.url}/v1/responses/resp_nobody`, { headers: { authorization: `Bearer ${secret}` } })
  expect(unknown.status).toBe(404)
}, 30_000)

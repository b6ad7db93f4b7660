/**
 * A reasoning item handed out by a stream's `response.output_item.done` while the stored ids cannot be written, sent
 * back to another replica, which does not find it: refused there (503 database_busy), not served unheld.
 *
 * README (Stored state): "A stream's earlier events (`response.created`, an item's `output_item.done`) carry ids that
 * are not waited for ... a lookup of an id not found while the stored ids cannot be written (that lock, held on any
 * replica's database or file) is a 503 `database_busy`, never a 404, since its write may be pending on another replica";
 * and a reasoning item sent back with `reasoning_text` but no `encrypted_content` "whose id tollgate recorded ... is
 * still held at its recorded size: the provider keeps the hidden reasoning under that id". SPEC §6: with cap-output on,
 * `spend <= max_budget` is an invariant.
 *
 * The existing test (responses-stored-ids-under-lock) covers the JSON answer, which is withheld. A stream gives the
 * item to the client before its final event; replica B looks the id up (findItems) and does not find it (A's write is
 * waiting for the lock). Such an item is only "read if recorded", and was once neither refused nor held: the provider
 * read the 600,000 reasoning tokens it kept, on a hold of a few hundred.
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
const kept = new Map<string, number>()
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
    const reasoning = { id: `rs_${n}`, type: 'reasoning', summary: [] }
    const output = thinks ? [reasoning, message] : [message]
    const outputTokens = thinks ? REASONING + 1 : 1
    if (thinks && body.store !== false) kept.set(reasoning.id, REASONING)
    const response = {
      id, object: 'response', created_at: 1, status: 'completed', model: 'm', output, store: body.store !== false,
      usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: thinks ? REASONING : 0 }, total_tokens: input + outputTokens },
    }
    if (body.stream !== true) return Response.json(response)
    const events = [
      { type: 'response.created', sequence_number: 0, response: { ...response, status: 'in_progress', output: [], usage: null } },
      ...output.map((item, i) => ({ type: 'response.output_item.done', sequence_number: i + 1, output_index: i, item })),
      { type: 'response.completed', sequence_number: output.length + 1, response },
    ]
    return new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const e of events) c.enqueue(sse(e))
          c.close()
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
  const url = await pg.database('streamed_item_lock')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
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

async function underIndexBuild<T>(during: () => Promise<T>): Promise<T> {
  const c = await sql.reserve()
  try {
    await c`BEGIN`
    await c`LOCK TABLE stored_responses IN SHARE MODE`
    return await during()
  } finally {
    await c`ROLLBACK`
    c.release()
  }
}

test('a reasoning item from a stream answered on A during an index build, sent back to B: refused 503 or held (spend within max_budget)', async () => {
  const { secret } = await a.userWithKey({ id: 'stream-item-lock', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const result = await underIndexBuild(async () => {
    // $0.60 of reasoning, within the $1 budget, streamed: the reasoning item comes in its output_item.done.
    const text = await (await post(a.url, secret, { model: 'plain:m', input: 'think hard', max_output_tokens: REASONING + 1, stream: true })).text()
    const events = text.split('\n\n').filter(Boolean).map((block) => JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)))
    const reasoning = events.find((e) => e.type === 'response.output_item.done' && e.item.type === 'reasoning')!.item
    const calls = upstream.calls.length
    // The next turn, store: false, through B: the reasoning item back with its reasoning text but no encrypted_content.
    const r2 = await post(b.url, secret, {
      model: 'plain:m', store: false, max_output_tokens: 16,
      input: [{ ...reasoning, content: [{ type: 'reasoning_text', text: 'thought' }] }, { role: 'user', content: 'go on' }],
    })
    const r2Body = (await r2.json()) as any
    return { lastEvent: events.at(-1).type, r2: `${r2.status} ${r2Body.error?.code ?? ''}`.trim(), r2CalledProvider: upstream.calls.length > calls }
  })
  await a.settled()
  await b.settled()
  const user = (await a.admin('GET', '/v1/users/stream-item-lock')).body
  const rows = await sql`SELECT cost, reserved FROM usage WHERE user_id = 'stream-item-lock' ORDER BY id`
  expect({ ...result, withinBudget: user.spend <= 1, heldForWhatItCost: rows.map((u: any) => Number(u.cost) <= Number(u.reserved)) })
    .toEqual({ lastEvent: 'error', r2: '503 database_busy', r2CalledProvider: false, withinBudget: true, heldForWhatItCost: [true] })
}, 60_000)

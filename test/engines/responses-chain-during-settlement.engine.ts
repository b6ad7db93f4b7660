/**
 * On Postgres a stored Responses id is written behind, and its insert takes FOR KEY SHARE on its user's row (the
 * foreign key's check), with the background writers' 100 ms lock wait. The ledger locked that row FOR UPDATE for
 * as long as a settlement or a hold took to commit, which on a busy machine (CI: 2 cores) passed 100 ms: the ids'
 * write was given up and sent again half a second later, and the next request of the chain, whose lookup writes the
 * queued ids first, was refused 503 database_busy (SQLite answered it). In CI a Responses stream the client cut, its
 * ids and its settlement sent together, then had no stored size when read (test/responses-context.test.ts). The
 * ledger now locks a user's row FOR NO KEY UPDATE, which a foreign key's check does not wait for.
 *
 * Here a trigger holds a settlement's transaction 0.5 s after it has locked the user's row (its usage insert sleeps),
 * to stand for that slow commit deterministically, while another stream of the same user hands out its id.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { jsonResponse, postResponses, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let gw: TestGateway
let sql: InstanceType<typeof Bun.SQL>

const encoder = new TextEncoder()
const event = (data: Record<string, unknown>) => encoder.encode(`event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`)
const created = (id: string) => event({ type: 'response.created', sequence_number: 0, response: { id, object: 'response', status: 'in_progress', model: 'm', output: [], usage: null } })
const usage = { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 6 }

/** Stream B's upstream sends its `response.created` once this is resolved. */
let releaseB!: () => void
const bReleased = new Promise<void>((resolve) => (releaseB = resolve))

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  upstream.answer(({ body }) => {
    if (body.previous_response_id) return jsonResponse({ id: 'resp_next', object: 'response', status: 'completed', model: 'm', output: [], usage })
    const id = body.input === 'b' ? 'resp_b' : 'resp_a'
    const stream = new ReadableStream<Uint8Array>({
      async start(c) {
        if (id === 'resp_b') await bReleased
        c.enqueue(created(id))
        c.enqueue(event({ type: 'response.output_text.delta', sequence_number: 1, output_index: 0, item_id: `msg_${id}`, content_index: 0, delta: 'MARK' }))
      },
    })
    return new Response(stream, { headers: { 'content-type': 'text/event-stream' } })
  })
  const url = await pg.database('chain_during_settlement')
  gw = await startTestGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, database_url: url },
  })
  sql = new Bun.SQL(url)
}, 60_000)
afterAll(async () => {
  await sql?.close()
  await gw?.stop()
  await upstream?.stop()
  await pg?.destroy()
})

/** Reads a stream until `marker`, and leaves the rest unread. */
async function readUntil(res: Response, marker: string) {
  const reader = res.body!.getReader()
  let text = ''
  while (!text.includes(marker)) text += new TextDecoder().decode((await reader.read()).value)
  return reader
}

test("a stored id handed out while a settlement holds its user's row is found by the chain's next request at once (no 503 database_busy)", async () => {
  const { secret } = await gw.userWithKey({ id: 'chain-settling', max_budget: 10 })
  // B is held (its hold taken) and waits for its provider; A streams, and its client cuts it.
  const b = postResponses(gw, secret, { model: 'plain:m', input: 'b', stream: true })
  for (let i = 0; i < 100 && upstream.calls.length < 1; i++) await Bun.sleep(10)
  const a = await postResponses(gw, secret, { model: 'plain:m', input: 'a', stream: true })
  expect(a.status).toBe(200)
  await sql.unsafe(`CREATE FUNCTION slow_settlement() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$`)
  await sql.unsafe(`CREATE TRIGGER slow_settlement BEFORE INSERT ON usage FOR EACH STATEMENT EXECUTE FUNCTION slow_settlement()`)
  await (await readUntil(a, 'MARK')).cancel()
  // A's settlement has locked the user's row and sleeps in its usage insert.
  const settling = async () => Number((await sql`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep'`)[0].n)
  for (let i = 0; i < 100 && (await settling()) === 0; i++) await Bun.sleep(5)
  expect(await settling()).toBe(1)

  // B hands out its id meanwhile, and its client goes on from it at once.
  releaseB()
  const bReader = await readUntil(await b, 'MARK')
  const next = await postResponses(gw, secret, { model: 'plain:m', input: 'Go on.', previous_response_id: 'resp_b', max_output_tokens: 16 })
  expect({ status: next.status, body: await next.text() }).toEqual({ status: 200, body: expect.stringContaining('resp_next') })
  await bReader.cancel()

  await sql.unsafe(`DROP TRIGGER slow_settlement ON usage`)
  await gw.settled()
  const stored = await sql`SELECT id FROM stored_responses ORDER BY id`
  expect(stored.map((r: { id: string }) => r.id)).toEqual(['resp_a', 'resp_b', 'resp_next'])
}, 30_000)

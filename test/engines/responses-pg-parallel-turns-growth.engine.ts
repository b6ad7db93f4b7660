/**
 * Mutation guard (Postgres): turns taken at once in one conversation each add their growth to its row
 * (stored-rows.ts writeStoredRow: `context_tokens + grow_by`), as on SQLite. Each turn's own size covers only the
 * conversation as that turn read it, so a refactor that wrote GREATEST(existing, this turn's size) instead of adding
 * the growth would keep the row at the larger turn's view: the next turn is held short of what the provider reads,
 * and cap-output leaves the excess unbilled. The existing engine tests take their turns one after another, where
 * each turn's size already covers the previous ones, so they do not see it. Rates: 1 and 2 µ$ a token.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let gw: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

/** The provider's conversation: its size in tokens, grown by each turn's input and output once it finishes. */
let size = 0
let n = 0
let lastPrompt = 0
let arrived = 0
let bothArrived!: () => void
const both = new Promise<void>((resolve) => (bothArrived = resolve))

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  upstream.answer(async ({ body }) => {
    const own = typeof body.input === 'string' ? Buffer.byteLength(body.input) : 0
    const prompt = size + own
    // The two turns taken at once both reach the provider before either finishes: each reads the conversation as it
    // stood before both (so the test does not depend on how the two requests are scheduled under load).
    if (String(body.input).startsWith('y')) {
      if (++arrived === 2) bothArrived()
      await both
    }
    lastPrompt = prompt
    const output = Math.min(60, Number(body.max_output_tokens ?? 60))
    await Bun.sleep(150)
    size += own + output
    return Response.json({
      id: `resp_ll_pg_${++n}`, object: 'response', created_at: 1, status: 'completed', model: 'm', store: true, conversation: { id: 'conv_ll_pg' },
      output: [{ id: `msg_ll_pg_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'k' }] }],
      usage: { input_tokens: prompt, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: prompt + output },
    })
  })
  const url = await pg.database('responses_parallel_turns')
  gw = await spawnGateway({
    config: {
      providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      default_max_output_tokens: 64,
    },
    env: { TOLLGATE_DATABASE_URL: url, TOLLGATE_CAP_OUTPUT_TOKENS: 'true' },
  })
  sql = new Bun.SQL(url)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await sql?.close()
  await upstream?.stop()
  await pg?.destroy()
})

const post = (secret: string, body: unknown) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('two turns at once in one conversation both grow its Postgres row: the next turn is held for, and billed, all of it', async () => {
  const { secret } = await gw.userWithKey({ id: 'rtll-pg-par', max_budget: 100 })
  const first = await post(secret, { model: 'plain:m', input: 'x'.repeat(100_000) })
  expect(first.status).toBe(200)
  await first.arrayBuffer()
  // Two turns at once, 50,000 tokens of input each: each reads ~100,000, the conversation is ~200,000 after them.
  const both = await Promise.all([0, 1].map(() => post(secret, { model: 'plain:m', input: 'y'.repeat(50_000), conversation: 'conv_ll_pg' })))
  expect(both.map((r) => r.status)).toEqual([200, 200])
  await Promise.all(both.map((r) => r.arrayBuffer()))
  await gw.settled()
  const [row] = await sql`SELECT context_tokens FROM stored_responses WHERE id = 'conv_ll_pg'`
  expect(Number(row.context_tokens)).toBe(size)

  // The next turn: the provider reads the whole conversation; the user pays all of it (none left unbilled).
  const next = await post(secret, { model: 'plain:m', input: 'go on', conversation: 'conv_ll_pg', max_output_tokens: 16 })
  expect(next.status).toBe(200)
  await next.arrayBuffer()
  await gw.settled()
  const [usage] = await sql`SELECT prompt_tokens, cost FROM usage WHERE user_id = 'rtll-pg-par' ORDER BY id DESC LIMIT 1`
  expect(Number(usage.prompt_tokens)).toBe(lastPrompt)
  expect(Number(usage.cost)).toBe(lastPrompt + 16 * 2)
}, 60_000)

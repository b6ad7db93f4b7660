/**
 * A conversation's growth whose write loses its connection (a proxy, a failover, pg_terminate_backend), no lock
 * anywhere, and the next turn through another replica. README (Stored state) / SPEC §6: a request chained on a
 * conversation is never held for less context than the provider will bill it; with cap-output on, `spend <=
 * max_budget` holds.
 *
 * The answer waits for its ids until the database's deadline whatever failed their write, not only for a lock: a
 * write tried again in time answers the turn as usual; one still unwritten then has its answer withheld (paid all the
 * same, and the provider keeps the turn), and its conversation is announced (KeptBackIds), so that replica B refuses
 * the next turn rather than hold it at the size before the paid one. Refused at the first failure and announced only
 * for a lock, the turn was withheld though its write landed half a second later, and B held the next turn for a few
 * tokens while the provider read 600,000.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Socket } from 'bun'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { waitFor } from '../support/wait-for'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { answerAsConversations } from './support/conversation-provider'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>
let relay: ReturnType<typeof cuttingRelay>

const conversations = new Map<string, number>()

/**
 * A TCP relay in front of Postgres (replica A's only): armed for `times` cuts, a client chunk carrying `needle` (a bound
 * parameter of the stored-id writer's INSERT) is not forwarded and both sides are reset: the transaction never commits.
 */
function cuttingRelay(target: number, needle: string) {
  const bytes = new TextEncoder().encode(needle)
  const has = (b: Uint8Array) => {
    outer: for (let i = 0; i + bytes.length <= b.length; i++) {
      for (let j = 0; j < bytes.length; j++) if (b[i + j] !== bytes[j]) continue outer
      return true
    }
    return false
  }
  let armed = 0
  let cuts = 0
  type Pair = { peer?: Socket<any>; pending: Uint8Array[] }
  const server = Bun.listen<Pair>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      async open(client) {
        client.data = { pending: [] }
        const up = await Bun.connect<{ peer: Socket<Pair> }>({
          hostname: '127.0.0.1',
          port: target,
          socket: {
            data(s, chunk) { s.data.peer.write(new Uint8Array(chunk)) },
            close(s) { s.data.peer.end() },
            error(s) { s.data.peer.end() },
          },
          data: { peer: client },
        })
        client.data.peer = up
        for (const p of client.data.pending) up.write(p)
      },
      data(client, chunk) {
        const copy = new Uint8Array(chunk)
        if (armed > 0 && has(copy)) {
          armed--
          cuts++
          client.data.peer?.terminate()
          client.terminate()
          return
        }
        if (client.data.peer) client.data.peer.write(copy)
        else client.data.pending.push(copy)
      },
      close(client) { client.data.peer?.end() },
      error(client) { client.data.peer?.end() },
    },
  })
  return { port: server.port, arm: (times = 1) => void (armed = times), disarm: () => void (armed = 0), cuts: () => cuts, stop: () => server.stop(true) }
}

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  answerAsConversations(upstream, conversations)
  const url = await pg.database('redteam_gc_growth_reset')
  relay = cuttingRelay(pg.port, 'conv_RESET')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
  }
  b = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url, TOLLGATE_CAP_OUTPUT_TOKENS: 'true' } })
  a = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url.replace(`:${pg.port}/`, `:${relay.port}/`), TOLLGATE_CAP_OUTPUT_TOKENS: 'true' } })
  sql = new Bun.SQL(url)
}, 60_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await sql?.close()
  relay?.stop()
  await upstream?.stop()
  await pg?.destroy()
})

const post = (url: string, secret: string, body: unknown) =>
  fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** Turn 1 of `conversation` through A, then turn 2 (600,000 tokens, $0.60) with the growth's writes cut `cuts` times once the provider has it. */
async function bigTurnCut(secret: string, conversation: string, cuts: number): Promise<Response> {
  const t1 = await post(a.url, secret, { model: 'plain:m', input: `start ${conversation}`, max_output_tokens: 16 })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()
  const calls = upstream.calls.length
  const turn2 = post(a.url, secret, { model: 'plain:m', input: 'y'.repeat(600_000), conversation, max_output_tokens: 16 })
  while (upstream.calls.length === calls) await Bun.sleep(1)
  relay.arm(cuts)
  const t2 = await turn2
  await t2.arrayBuffer()
  return t2
}

/** The next turn through B: whether the provider was called, and the user's spend once everything settled. */
async function nextTurnThroughB(secret: string, user: string, conversation: string) {
  const before = upstream.calls.length
  const t3 = await post(b.url, secret, { model: 'plain:m', input: 'go on', conversation, max_output_tokens: 16 })
  await t3.arrayBuffer()
  const t3CalledProvider = upstream.calls.length > before
  await Bun.sleep(1_500)
  await a.settled()
  await b.settled()
  const { spend } = (await a.admin('GET', `/v1/users/${user}`)).body
  const rows = await sql`SELECT cost::bigint AS cost, reserved::bigint AS reserved FROM usage WHERE user_id = ${user} ORDER BY id`
  return { t3: t3.status, t3CalledProvider, spend, withinBudget: spend <= 1, heldForWhatItCost: rows.map((r: any) => Number(r.cost) <= Number(r.reserved)) }
}

test('a growth write that lost its connection once is sent again at once: the turn is answered, and B holds the next one for it', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-reset', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const cutsBefore = relay.cuts()
  const t2 = await bigTurnCut(secret, 'conv_RESET', 1)
  expect({ cuts: relay.cuts() - cutsBefore, t2: t2.status }).toEqual({ cuts: 1, t2: 200 })
  // The provider would read the whole conversation, 600,000+ tokens ($0.60 on $0.40 left): refused before the call.
  const next = await nextTurnThroughB(secret, 'conv-reset', 'conv_RESET')
  expect(next).toEqual({ t3: 402, t3CalledProvider: false, spend: next.spend, withinBudget: true, heldForWhatItCost: [true, true] })
}, 90_000)

test('a growth write failing until the deadline (no lock): the answer is withheld, and B refuses the next turn until it lands', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-reset-long', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const t2 = await bigTurnCut(secret, 'conv_RESET_LONG', 1_000)
  expect(t2.status).toBe(503)
  const before = upstream.calls.length
  const t3 = await post(b.url, secret, { model: 'plain:m', input: 'go on', conversation: 'conv_RESET_LONG', max_output_tokens: 16 })
  expect({ t3: t3.status, code: ((await t3.json()) as any).error?.code, calledProvider: upstream.calls.length > before })
    .toEqual({ t3: 503, code: 'database_busy', calledProvider: false })

  // The writes go through again: the growth lands, and the conversation is served at its size.
  relay.disarm()
  const unannounced = async () => (await sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND 7201402 IN (classid, objid) AND granted`)[0].n === 0
  expect(await waitFor(5_000, unannounced)).toBe(true)
  const next = await nextTurnThroughB(secret, 'conv-reset-long', 'conv_RESET_LONG')
  expect(next).toEqual({ t3: 402, t3CalledProvider: false, spend: next.spend, withinBudget: true, heldForWhatItCost: [true, true] })
}, 90_000)

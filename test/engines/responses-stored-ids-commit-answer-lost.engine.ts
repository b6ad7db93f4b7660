/**
 * A turn's stored ids committed, the COMMIT's answer lost with the connection (a reset, a proxy, a failover). README
 * (Stored state): the answer waits for its ids until the database's deadline, whatever failed their write. The
 * writer sends them again (growths as floors: PostgresStore.writeResponses), which lands within the deadline: the paid
 * turn is answered. Refused at the first failure that was not a lock timeout, it was withheld (503 database_busy) for
 * ids every replica found, and an SDK's automatic retry of the 503 paid the turn again (and the provider added it to
 * the conversation twice).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Socket } from 'bun'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { answerAsConversations } from './support/conversation-provider'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>
let relay: ReturnType<typeof commitAnswerCutter>

const conversations = new Map<string, number>()

/**
 * A TCP relay in front of Postgres (replica A's only): when armed, the connection whose client next sends `needle` (a
 * bound parameter of the stored-id writer's INSERT) has the answer to its COMMIT dropped with the connection: the
 * transaction committed, and A never hears so.
 */
function commitAnswerCutter(target: number, needle: string) {
  const enc = new TextEncoder()
  const find = (b: Uint8Array, n: Uint8Array) => {
    outer: for (let i = 0; i + n.length <= b.length; i++) {
      for (let j = 0; j < n.length; j++) if (b[i + j] !== n[j]) continue outer
      return i
    }
    return -1
  }
  const NEEDLE = enc.encode(needle)
  const COMMIT = enc.encode('COMMIT\0')
  let armed = false
  let cuts = 0
  type Pair = { peer?: Socket<any>; pending: Uint8Array[]; marked: boolean }
  const server = Bun.listen<Pair>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      async open(client) {
        client.data = { pending: [], marked: false }
        const up = await Bun.connect<{ peer: Socket<Pair> }>({
          hostname: '127.0.0.1',
          port: target,
          socket: {
            data(s, chunk) {
              const copy = new Uint8Array(chunk)
              const at = find(copy, COMMIT)
              if (s.data.peer.data.marked && at >= 5 && copy[at - 5] === 0x43) {
                s.data.peer.data.marked = false
                cuts++
                s.data.peer.terminate()
                s.terminate()
                return
              }
              s.data.peer.write(copy)
            },
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
        if (armed && find(copy, NEEDLE) >= 0) {
          armed = false
          client.data.marked = true
        }
        if (client.data.peer) client.data.peer.write(copy)
        else client.data.pending.push(copy)
      },
      close(client) { client.data.peer?.end() },
      error(client) { client.data.peer?.end() },
    },
  })
  return { port: server.port, arm: () => void (armed = true), cuts: () => cuts, stop: () => server.stop(true) }
}

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  answerAsConversations(upstream, conversations)
  const url = await pg.database('redteam_gc_commit_answer_withheld')
  relay = commitAnswerCutter(pg.port, 'conv_LOST')
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

test('the stored-id batch committed but its COMMIT answer was lost: the paid turn is answered, not withheld', async () => {
  const { secret } = await a.userWithKey({ id: 'conv-lost', max_budget: 1 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const t1 = await post(a.url, secret, { model: 'plain:m', input: 'start conv_LOST', max_output_tokens: 16 })
  expect(t1.status).toBe(200)
  await t1.arrayBuffer()

  const calls = upstream.calls.length
  const turn2 = post(a.url, secret, { model: 'plain:m', input: 'turn two', conversation: 'conv_LOST', max_output_tokens: 16 })
  while (upstream.calls.length === calls) await Bun.sleep(1)
  relay.arm()
  const t2 = await turn2
  const body: any = await t2.json()
  expect(relay.cuts()).toBe(1)
  // The ids were committed: B finds the response (what the withheld answer would have given the client).
  const [stored] = await sql`SELECT count(*)::int AS n FROM stored_responses WHERE id = ${'resp_' + upstream.calls.length}`
  await a.settled()
  const [usage] = await sql`SELECT count(*)::int AS n, coalesce(sum(cost), 0)::bigint AS cost FROM usage WHERE user_id = 'conv-lost'`
  expect({ committed: stored.n, paidTurns: usage.n, t2: t2.status, code: body.error?.code ?? null })
    .toEqual({ committed: 1, paidTurns: 2, t2: 200, code: null })
}, 90_000)

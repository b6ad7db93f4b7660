/**
 * For a test file: Postgres, a scripted provider that answers every Responses turn in the conversation it names (a
 * first turn names it in its input, "start conv_…"), each 30 tokens in and 1 out, and `count` gateway replicas on one
 * database in front of it (`plain:m` at $1/$1 per million); started before the file's tests, stopped after them.
 * The fields are set once they are started.
 */
import { afterAll, beforeAll } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './postgres'

export interface ConversationReplicas {
  pg: TestPostgres
  upstream: ScriptedUpstream
  /** The database the replicas share. */
  url: string
  /** The replicas' config (for one started later). */
  config: Record<string, unknown>
  replicas: SpawnedGateway[]
  /** A connection of the test's own to the database. */
  sql: InstanceType<typeof Bun.SQL>
}

/** `settings`: more of the replicas' config (a file's own database deadline). */
export function withConversationReplicas(database: string, count: number, timeoutMs = 90_000, settings: Record<string, unknown> = {}): ConversationReplicas {
  const h = { replicas: [] as SpawnedGateway[] } as unknown as ConversationReplicas
  beforeAll(async () => {
    h.pg = await startPostgres()
    h.upstream = startScriptedUpstream()
    answerTurnsInConversation(h.upstream)
    h.url = await h.pg.database(database)
    h.config = {
      providers: { plain: { type: 'openai', base_url: `${h.upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } },
      ...settings,
    }
    // Bun's fetch cap as the image and `npm start` raise it for the default limit (2048 provider calls): under Bun's
    // own (256) a replica admits 224, and a moment's stall on a loaded machine gathers more users' turns than that.
    const env = { TOLLGATE_DATABASE_URL: h.url, BUN_CONFIG_MAX_HTTP_REQUESTS: '2080' }
    for (let i = 0; i < count; i++) h.replicas.push(await spawnGateway({ config: h.config, env }))
    h.sql = new Bun.SQL(h.url)
  }, timeoutMs)
  afterAll(async () => {
    await Promise.all(h.replicas.map((r) => r.stop()))
    await h.sql?.close()
    await h.upstream?.stop()
    await h.pg?.destroy()
  })
  return h
}

/** A Responses request to the replica at `url` with the key's `secret`. */
export const postTurn = (url: string, secret: string, body: unknown) =>
  fetch(`${url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** Answers every Responses turn in the conversation it names (a first turn names it in its input, "start conv_…"), 30 tokens in and 1 out. */
export function answerTurnsInConversation(upstream: ScriptedUpstream): void {
  let n = 0
  upstream.answer(async ({ body }) => {
    const conversation: string = body.conversation ?? String(body.input).split(' ')[1]
    const id = `resp_${++n}`
    const message = { id: `msg_${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'k' }] }
    return Response.json({
      id, object: 'response', created_at: 1, status: 'completed', model: 'm', output: [message], store: true,
      conversation: { id: conversation },
      usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 31 },
    })
  })
}

/**
 * README (Stored state): an answer's ids, the code execution container a Messages answer ran in too, are written
 * before the client gets them, and a Postgres replica whose own ids are kept back by a lock refuses its next requests
 * that would store ids (503 database_busy) before their provider call while the lock lasts
 * (test/engines/responses-stored-ids-under-lock.engine.ts for Responses): each of an SDK's automatic retries of the
 * 503 would otherwise be paid and withheld again. On /v1/messages that is a request whose answer may run in a
 * container (it offers code execution, or names a container); any other is answered as usual meanwhile.
 */import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  // Only an answer to a request that offers code execution (in tools or defined in the conversation) runs in a container.
  upstream.answer(({ body }) =>
    jsonResponse({
      id: `msg_${++n}`, type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'done' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 5 },
      ...(JSON.stringify(body).includes('"code_execution_') ? { container: { id: `container_kb_${n}`, expires_at: '2026-12-05T00:00:00Z' } } : {}),
    }),
  )
  const url = await pg.database('messages_container_kept_back')
  const config = {
    providers: { ant: { type: 'anthropic', base_url: upstream.url, api_key: 'sk-ant-scripted-secret-0123456789' } },
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_execution: 0.05 } } },
  }
  a = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url } })
  sql = new Bun.SQL(url)
}, 60_000)

afterAll(async () => {
  await a?.stop()
  await sql?.close()
  await upstream?.stop()
  await pg?.destroy()
})

const CODE_EXECUTION = { tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] }

/** Code execution defined in the conversation (the inline-tools beta), offered as one in `tools` is. */
const CODE_EXECUTION_INLINE = {
  system: [{ type: 'tool_addition', tool: { type: 'tool_definition', definition: CODE_EXECUTION.tools[0] } }],
}

const post = (secret: string, extra: Record<string, unknown> = CODE_EXECUTION) =>
  fetch(`${a.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'inline-tools-2026-09-15' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 64, messages: [{ role: 'user', content: 'analyse' }], ...extra }),
  })

/** Runs `during` while another session holds stored_responses in SHARE mode, as CREATE INDEX (without CONCURRENTLY) does. */
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

test('once a replica knows its ids are kept back by the lock, a code execution Messages retry is refused before the provider is called, not paid and withheld again; a request without one is answered', async () => {
  const { secret } = await a.userWithKey({ id: 'msg-kept-back', max_budget: 5 })
  const result = await underIndexBuild(async () => {
    const first = await post(secret)
    await first.arrayBuffer()
    const calls = upstream.calls.length
    // The Anthropic SDK retries a 503 by itself (max_retries 2).
    const retried = await post(secret)
    await retried.arrayBuffer()
    const providerCalledAgain = upstream.calls.length > calls
    const plain = await post(secret, {})
    await plain.arrayBuffer()
    return { first: first.status, retried: retried.status, providerCalledAgain, plain: plain.status }
  })
  await a.settled()
  const rows = (await sql`SELECT status FROM usage WHERE user_id = 'msg-kept-back' ORDER BY id`).map((u: any) => u.status)
  expect({ ...result, rows }).toEqual({ first: 503, retried: 503, providerCalledAgain: false, plain: 200, rows: ['error', 'ok'] })
}, 60_000)

test('a code execution tool defined in the conversation waits for its container record as one in tools does: refused under the lock before the provider is called', async () => {
  const { secret } = await a.userWithKey({ id: 'msg-kept-back-inline', max_budget: 5 })
  const result = await underIndexBuild(async () => {
    // The first answer that runs in a container finds the lock and tells the replica its ids are kept back.
    const first = await post(secret)
    await first.arrayBuffer()
    const calls = upstream.calls.length
    const inline = await post(secret, CODE_EXECUTION_INLINE)
    await inline.arrayBuffer()
    return { first: first.status, inline: inline.status, providerCalledAgain: upstream.calls.length > calls }
  })
  await a.settled()
  expect(result).toEqual({ first: 503, inline: 503, providerCalledAgain: false })
}, 60_000)

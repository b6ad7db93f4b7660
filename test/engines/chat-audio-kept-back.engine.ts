/**
 * src/routes/chat.ts: "An answer with audio waits for its record: while this replica's stored ids are kept back by a
 * lock, it would be paid and withheld, and so would each of an SDK's retries" (ResponseOwners.refuseWhileKeptBack:
 * 503 database_busy before any hold or provider call). On Postgres, a SHARE lock on stored_responses (an index build
 * without CONCURRENTLY) keeps an audio answer's record back past the database deadline: that answer is withheld (503,
 * paid by its usage). The SDK's automatic retry, while the lock lasts, must be refused free, not paid and withheld
 * again. The same refusal is tested for Responses (responses-stored-ids-under-lock.engine.ts), never for chat audio.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let sql: InstanceType<typeof Bun.SQL>

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(() =>
    Response.json({
      id: `chatcmpl-${++n}`, object: 'chat.completion', created: 1, model: 'audio',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: null, audio: { id: `audio_kept_${n}`, expires_at: 4102444800, data: 'UklGRg==', transcript: 'Hello.' } } }],
      usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30, completion_tokens_details: { audio_tokens: 15 } },
    }),
  )
  const url = await pg.database('rt_lg_audio_kept_back')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:audio': { input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 40, audio_output_per_million: 80 } },
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

const askAudio = { model: 'plain:audio', max_completion_tokens: 64, modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' }, messages: [{ role: 'user', content: 'Say hello.' }] }
const chat = (secret: string) =>
  fetch(`${a.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(askAudio) })

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

test('an audio answer kept back by the lock: the retry while it lasts is 503 database_busy before the provider is called', async () => {
  const { secret } = await a.userWithKey({ id: 'audio-kept', max_budget: 10 })
  const result = await underIndexBuild(async () => {
    const first = await chat(secret)
    const firstCode = ((await first.json()) as any).error?.code
    const calls = upstream.calls.length
    const retried = await chat(secret)
    const retriedCode = ((await retried.json()) as any).error?.code
    return { first: `${first.status} ${firstCode}`, retried: `${retried.status} ${retriedCode}`, providerCalledAgain: upstream.calls.length > calls }
  })
  expect(result).toEqual({ first: '503 database_busy', retried: '503 database_busy', providerCalledAgain: false })
  await a.settled()
  // One answer paid (withheld): the retry cost nothing.
  const paid = await sql`SELECT count(*)::int AS n FROM usage WHERE user_id = 'audio-kept' AND cost > 0`
  expect(paid[0].n).toBe(1)
}, 60_000)

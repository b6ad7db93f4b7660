/**
 * src/routes/chat.ts: a chat answer's audio is recorded for its user and "Resolves once written where every replica
 * finds it, as a stored response's ids are: the client's next request naming it may reach another one." Behind a
 * load balancer, the client's next message naming the audio by id may land on replica B at once: B must find it
 * (the owner's own audio, served), not answer 404 audio_not_found because A had only queued the record. Tested for
 * Responses ids (responses-stored-across-replicas.engine.ts), never for chat audio.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let upstream: ScriptedUpstream
let a: SpawnedGateway
let b: SpawnedGateway

beforeAll(async () => {
  pg = await startPostgres()
  upstream = startScriptedUpstream()
  let n = 0
  upstream.answer(({ body }) =>
    Response.json({
      id: `chatcmpl-${++n}`, object: 'chat.completion', created: 1, model: 'audio',
      choices: [{ index: 0, finish_reason: 'stop', message: body.modalities
        ? { role: 'assistant', content: null, audio: { id: `audio_replica_${n}`, expires_at: 4102444800, data: 'UklGRg==', transcript: 'Hello.' } }
        : { role: 'assistant', content: 'Hello.' } }],
      usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30, completion_tokens_details: { audio_tokens: 15 } },
    }),
  )
  const url = await pg.database('rt_lg_audio_replicas')
  const config = {
    providers: { plain: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:audio': { input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 40, audio_output_per_million: 80 } },
  }
  a = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url } })
  b = await spawnGateway({ config, env: { TOLLGATE_DATABASE_URL: url } })
}, 60_000)

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await upstream?.stop()
  await pg?.destroy()
})

const chat = (url: string, secret: string, body: unknown) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test("an audio answer from replica A, named at once on replica B by its own user, is found there", async () => {
  const { secret } = await a.userWithKey({ id: 'audio-replicas', max_budget: 10 })
  expect((await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) {
    const first = await chat(a.url, secret, {
      model: 'plain:audio', max_completion_tokens: 64, modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' },
      messages: [{ role: 'user', content: 'Say hello.' }],
    })
    expect(first.status).toBe(200)
    const id = ((await first.json()) as any).choices[0].message.audio.id
    const next = await chat(b.url, secret, {
      model: 'plain:audio', max_completion_tokens: 64,
      messages: [{ role: 'user', content: 'Say hello.' }, { role: 'assistant', audio: { id } }, { role: 'user', content: 'Again.' }],
    })
    await next.text()
    statuses.push(next.status)
  }
  expect(statuses).toEqual([200, 200, 200, 200, 200])
}, 60_000)

import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * README "A router's model fallbacks are refused": behind a LiteLLM proxy (whose router reads `fallbacks`,
 * `context_window_fallbacks` and `content_policy_fallbacks` from the request, and whose /audio/transcriptions,
 * /audio/speech and /moderations serve fallbacks) or OpenRouter (`models`), a request may be answered by another
 * model, one the price book does not price or the key's allow-list does not allow, billed at the requested
 * model's price. Speech, transcriptions and moderations refuse such lists before any hold or provider call,
 * as chat, Responses, embeddings and Messages do.
 */
const calls: Array<{ path: string; fields: Record<string, unknown> }> = []
const upstream = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    const path = new URL(req.url).pathname
    const multipart = req.headers.get('content-type')?.startsWith('multipart/form-data')
    calls.push({ path, fields: multipart ? Object.fromEntries([...(await req.formData())].map(([k, v]) => [k, String(v)])) : ((await req.json()) as Record<string, unknown>) })
    if (path.endsWith('/speech')) return new Response(new Uint8Array(64), { headers: { 'content-type': 'audio/mpeg' } })
    if (path.endsWith('/transcriptions')) return Response.json({ text: 'hello' })
    if (path.endsWith('/moderations')) return Response.json({ id: 'm', model: 'x', results: [{ flagged: false }] })
    return Response.json({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }], usage: { prompt_tokens: 2, total_tokens: 2 } })
  },
})

let gw: TestGateway
let secret: string
const refused = { status: 400, code: 'feature_unsupported' }

beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      providers: { litellm: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-litellm-master-0123456789' } },
      pricing: {
        'litellm:tts-1': { input_per_million: 0, output_per_million: 0, per_request: 0.001 },
        'litellm:whisper-1': { input_per_million: 0, output_per_million: 0, per_request: 0.001 },
        'litellm:omni-moderation-latest': { input_per_million: 0, output_per_million: 0, per_request: 0.001 },
        'litellm:text-embedding-3-small': { input_per_million: 0.02, output_per_million: 0 },
      },
    },
  })
  // The key may call only these models: a fallback would reach one it may not.
  ;({ secret } = await gw.userWithKey(
    { id: 'fallbacks', max_budget: 10 },
    { allowed_models: ['litellm:tts-1', 'litellm:whisper-1', 'litellm:omni-moderation-latest', 'litellm:text-embedding-3-small'] },
  ))
})

afterAll(async () => {
  await gw.stop()
  upstream.stop(true)
})

const outcome = async (res: Response) => {
  const text = await res.text()
  return { status: res.status, code: res.status === 200 ? null : JSON.parse(text).error.code }
}

const post = async (path: string, body: unknown) =>
  outcome(await fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }))

/** A transcription form with `extra` fields; a repeated name is given as an array. */
const transcribe = async (extra: Array<[string, string]>) => {
  const form = new FormData()
  form.append('model', 'litellm:whisper-1')
  form.append('file', new File([new Uint8Array(2048)], 'a.mp3', { type: 'audio/mpeg' }))
  for (const [name, value] of extra) form.append(name, value)
  return outcome(await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form }))
}

test('speech and moderations naming fallback models are refused before any hold or provider call, as embeddings are', async () => {
  calls.length = 0
  const embeddings = await post('/v1/embeddings', { model: 'litellm:text-embedding-3-small', input: 'hi', fallbacks: ['text-embedding-3-large'] })
  const speech = await post('/v1/audio/speech', { model: 'litellm:tts-1', input: 'hello', voice: 'alloy', fallbacks: ['gpt-4o-mini-tts'] })
  const moderation = await post('/v1/moderations', { model: 'litellm:omni-moderation-latest', input: 'hi', content_policy_fallbacks: [{ 'omni-moderation-latest': ['other-moderation'] }] })
  const openRouterSpeech = await post('/v1/audio/speech', { model: 'litellm:tts-1', input: 'hello', voice: 'alloy', models: ['tts-1', 'tts-1-hd'] })
  expect({ embeddings, speech, moderation, openRouterSpeech, upstreamCalls: calls.map((c) => c.path) }).toEqual({
    embeddings: refused,
    speech: refused,
    moderation: refused,
    openRouterSpeech: refused,
    upstreamCalls: [],
  })
  await gw.settled()
  expect((await gw.admin('GET', '/v1/users/fallbacks')).body).toMatchObject({ spend: 0, reserved: 0 })
})

test('a transcription form naming fallback models is refused, however the form spells the list', async () => {
  calls.length = 0
  const got = {
    // As the OpenAI SDKs send a list and LiteLLM's proxy reads it: one `name[]` field per entry.
    bracketed: await transcribe([['fallbacks[]', 'whisper-1'], ['fallbacks[]', 'gpt-4o-transcribe']]),
    plain: await transcribe([['context_window_fallbacks', 'gpt-4o-transcribe']]),
    json: await transcribe([['content_policy_fallbacks', '[{"whisper-1": ["gpt-4o-transcribe"]}]']]),
    route: await transcribe([['route', 'fallback']]),
  }
  expect({ got, upstreamCalls: calls.map((c) => c.path) }).toEqual({
    got: { bracketed: refused, plain: refused, json: refused, route: refused },
    upstreamCalls: [],
  })
})

test('a list naming only the model asked for is no fallback: speech, transcription and moderation are served', async () => {
  calls.length = 0
  const got = {
    speech: await post('/v1/audio/speech', { model: 'litellm:tts-1', input: 'hello', voice: 'alloy', fallbacks: ['tts-1'] }),
    transcription: await transcribe([['fallbacks[]', 'whisper-1'], ['language', 'en']]),
    moderation: await post('/v1/moderations', { model: 'litellm:omni-moderation-latest', input: 'hi', fallbacks: [{ model: 'omni-moderation-latest' }] }),
  }
  const served = { status: 200, code: null }
  expect(got).toEqual({ speech: served, transcription: served, moderation: served })
  expect(calls.map((c) => c.path)).toEqual(['/v1/audio/speech', '/v1/audio/transcriptions', '/v1/moderations'])
  // The transcription's other fields still go through as sent.
  expect(calls[1]!.fields).toMatchObject({ model: 'whisper-1', language: 'en', 'fallbacks[]': 'whisper-1' })
})

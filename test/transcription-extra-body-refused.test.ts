/**
 * A LiteLLM proxy merges a request's `extra_body` over the provider request it builds, `model` included
 * (test/extra-body-refused.test.ts): the JSON routes refuse it but for Gemini's `google`. A transcription's form can
 * carry the same field, as text: nothing in it is served (Gemini's `google` is a JSON object), so it is refused
 * whatever it holds, 400 `feature_unsupported` with `param: "extra_body"`, before any hold or provider call, and the
 * route's /docs names it among its refusals.
 *
 * The proxy records each form it is sent; whisper costs 1 m$ a request.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

const forms: Array<Record<string, string>> = []
const proxy = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    forms.push(Object.fromEntries([...(await req.formData())].map(([name, value]) => [name, String(value)])))
    return Response.json({ text: 'hello' })
  },
})

let gw: TestGateway
let secret: string

beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      providers: { litellm: { type: 'openai', base_url: `http://127.0.0.1:${proxy.port}/v1`, api_key: 'sk-litellm-master-0123456789' } },
      pricing: { 'litellm:whisper-1': { input_per_million: 0, output_per_million: 0, per_request: 0.001 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'transcription-extra-body', max_budget: 1 }, { allowed_models: ['litellm:whisper-1'] }))
})

afterAll(async () => {
  await gw.stop()
  proxy.stop(true)
})

beforeEach(() => {
  forms.length = 0
})

const transcribe = async (fields: Record<string, string>) => {
  const form = new FormData()
  form.append('model', 'litellm:whisper-1')
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  form.append('file', new File(['RIFF'], 'a.wav', { type: 'audio/wav' }))
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
  const answer = (await res.json()) as { error?: { code?: string; param?: string | null } }
  return { status: res.status, code: answer.error?.code, param: answer.error?.param }
}

test('a transcription form field extra_body is refused (400 feature_unsupported, param extra_body), not sent on', async () => {
  for (const extra of ['{"model":"gpt-4o-transcribe"}', '{"google":{}}', ''])
    expect(await transcribe({ extra_body: extra })).toEqual({ status: 400, code: 'feature_unsupported', param: 'extra_body' })
  expect(forms).toHaveLength(0)
  await gw.settled()
  expect((await gw.admin('GET', '/v1/users/transcription-extra-body')).body).toMatchObject({ spend: 0, reserved: 0 })
  // Without it the form is served, its other fields as sent.
  expect((await transcribe({ language: 'en' })).status).toBe(200)
  expect(forms).toEqual([{ model: 'whisper-1', language: 'en', file: expect.any(String) }])
})

test("the transcription route's /docs names extra_body among its 400 refusals", async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  expect(String(doc.paths['/v1/audio/transcriptions'].post.responses['400'].description)).toContain('`extra_body`')
})

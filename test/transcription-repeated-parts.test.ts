import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

/**
 * Mutation guard. A transcription's form goes to the provider with "every other field and file as sent"
 * (src/routes/audio.ts `upstreamForm`): the OpenAI SDKs send `timestamp_granularities[]` once per granularity
 * (a second `file` part is refused 400 by the schema). No existing test sends a field twice, so a form builder that
 * kept only the first value of a repeated part (`segment` dropped after `word`) passed them all.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  secret = (await gw.userWithKey({ id: 'form', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('a repeated field reaches the provider with all its values', async () => {
  const form = new FormData()
  form.append('model', 'mock:whisper')
  form.append('file', new File([new Uint8Array(2048)], 'first.mp3', { type: 'audio/mpeg' }))
  form.append('response_format', 'verbose_json')
  form.append('timestamp_granularities[]', 'word')
  form.append('timestamp_granularities[]', 'segment')
  const calls = mock.calls.length
  const res = await fetch(gw.url + '/v1/audio/transcriptions', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  expect(mock.calls.length).toBe(calls + 1)
  const sent = mock.calls.at(-1)!.body as { fields: Record<string, string>; files: string[] }
  expect(sent.files).toEqual(['first.mp3'])
  // The mock keeps a repeated field's last value.
  expect(sent.fields['timestamp_granularities[]']).toBe('segment')
})

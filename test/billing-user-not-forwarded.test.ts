import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

/**
 * Mutation guard. README: "On moderations and audio, the body's `user` field only names who pays (those
 * OpenAI APIs have no such field) and is not forwarded; on chat and embeddings it is." Only the transcription's form
 * was checked (test/surface-openai.test.ts); passing the whole body (`user` included) to the provider on speech or
 * moderations passed every existing test.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  secret = (await gw.userWithKey({ id: 'payer', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const post = async (path: string, body: Record<string, unknown>) => {
  const calls = mock.calls.length
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, user: 'payer' }),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  expect(mock.calls.length).toBe(calls + 1)
  return mock.calls.at(-1)!.body as Record<string, unknown>
}

test('speech: `user` names who pays and is not sent to the provider', async () => {
  const sent = await post('/v1/audio/speech', { model: 'mock:tts-mock', input: 'hello', voice: 'alloy' })
  expect(sent.input).toBe('hello')
  expect(sent).not.toHaveProperty('user')
})

test('moderations: `user` names who pays and is not sent to the provider', async () => {
  const sent = await post('/v1/moderations', { model: 'mock:omni-moderation', input: 'be nice' })
  expect(sent.input).toBe('be nice')
  expect(sent).not.toHaveProperty('user')
})

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockBehavior, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow, type UsageRow } from './support/settled-row'

/**
 * A provider that answers a call with a 2xx and then a body the gateway cannot use — JSON that does not
 * parse, or a body that breaks off halfway (the connection dropped while it was being read) — generated
 * that answer and bills it: the call is not free. It is paid as an answer without usage, its whole hold
 * (on the per-request routes, the `per_request` price), the usage row says `error`, and the client gets a
 * 502. The same holds for a stream request the provider answered with JSON. A 2xx answer without a usage
 * field pays its hold too (status `ok`); a 2xx whose body is only an error made nothing and stays released
 * (test/error-body.test.ts), as does a non-2xx refusal (test/upstream-faults.test.ts).
 */
const PRICING = {
  'mockant:claude-mock': { input_per_million: 4, output_per_million: 20 },
  'mock:gpt-mock': { input_per_million: 2, output_per_million: 3 },
  'mock:embed': { input_per_million: 1, output_per_million: 0 },
  'mock:moderate': { input_per_million: 0, output_per_million: 0, per_request: 0.0002 },
  'mock:whisper': { input_per_million: 0, output_per_million: 0, per_request: 0.0005 },
}
const USER = 'team-unusable'
const MAX_TOKENS = 200

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: PRICING } })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

interface Route {
  name: string
  send(): Promise<Response>
}

const post = (path: string, body: Record<string, unknown>) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const messages = [{ role: 'user', content: 'Write me a long story' }]

function transcription(): Promise<Response> {
  const form = new FormData()
  form.append('model', 'mock:whisper')
  form.append('file', new File([new Uint8Array(64)], 'clip.wav', { type: 'audio/wav' }))
  return fetch(gw.url + '/v1/audio/transcriptions', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
}

const ROUTES: Route[] = [
  { name: 'chat → OpenAI-compatible', send: () => post('/v1/chat/completions', { model: 'mock:gpt-mock', max_tokens: MAX_TOKENS, messages }) },
  { name: 'chat → Anthropic (translated)', send: () => post('/v1/chat/completions', { model: 'mockant:claude-mock', max_tokens: MAX_TOKENS, messages }) },
  { name: 'messages → Anthropic', send: () => post('/v1/messages', { model: 'mockant:claude-mock', max_tokens: MAX_TOKENS, messages }) },
  { name: 'messages → OpenAI-compatible (translated)', send: () => post('/v1/messages', { model: 'mock:gpt-mock', max_tokens: MAX_TOKENS, messages }) },
  { name: 'responses → OpenAI-compatible', send: () => post('/v1/responses', { model: 'mock:gpt-mock', max_output_tokens: MAX_TOKENS, input: 'Write me a long story' }) },
  { name: 'responses → Anthropic (translated)', send: () => post('/v1/responses', { model: 'mockant:claude-mock', max_output_tokens: MAX_TOKENS, input: 'Write me a long story' }) },
  { name: 'embeddings', send: () => post('/v1/embeddings', { model: 'mock:embed', input: 'some words to embed' }) },
  { name: 'moderations', send: () => post('/v1/moderations', { model: 'mock:moderate', input: 'some words to check' }) },
  // A stream request the provider answered with JSON is read as the JSON answer it is.
  { name: 'chat stream → OpenAI-compatible, answered with JSON', send: () => post('/v1/chat/completions', { model: 'mock:gpt-mock', stream: true, max_tokens: MAX_TOKENS, messages }) },
  { name: 'messages stream → Anthropic, answered with JSON', send: () => post('/v1/messages', { model: 'mockant:claude-mock', stream: true, max_tokens: MAX_TOKENS, messages }) },
]

/** A row charged its whole hold counts the tokens the hold priced: the input estimate and the max output held. */
function expectHeldTokens(route: Route, row: UsageRow): void {
  if (route.name === 'moderations') return expect(row).toMatchObject({ prompt_tokens: 0, completion_tokens: 0 })
  expect(row.prompt_tokens).toBeGreaterThan(0)
  expect(row.completion_tokens).toBe(route.name === 'embeddings' ? 0 : MAX_TOKENS)
}

/** The answer as the faulty provider sends it; a stream request's answer is made JSON by `malformed-json` alone. */
const FAULTS: Array<{ behavior: MockBehavior; what: string }> = [
  { behavior: 'malformed-json', what: 'a 200 JSON body that does not parse' },
  { behavior: 'cut-body', what: 'a 200 whose body breaks off halfway (connection dropped)' },
]

describe('a 2xx answer whose body cannot be used: 502, charged its whole hold, row `error`', () => {
  for (const fault of FAULTS) {
    for (const route of ROUTES) {
      // cut-body keeps the answer's own format: a stream request gets a cut SSE stream, a case of its own (test/upstream-faults.test.ts).
      if (fault.behavior === 'cut-body' && route.name.includes('stream')) continue
      test(`${route.name}: ${fault.what}`, async () => {
        mock.queue(fault.behavior)
        const row = await settledRow(gw, USER, async () => {
          const res = await route.send()
          expect(res.status).toBe(502)
          const said = fault.behavior === 'cut-body' ? "Upstream provider's answer broke off before its end." : 'Upstream provider sent a malformed answer.'
          expect(((await res.json()) as any).error.message).toBe(said)
        })
        expect(mock.calls.length).toBe(1)
        expect(row.status).toBe('error')
        expect(row.reserved).toBeGreaterThan(0)
        expect(row.cost).toBe(row.reserved)
        expectHeldTokens(route, row)
      })
    }
  }

  test('transcriptions: a 200 whose body breaks off halfway', async () => {
    mock.queue('cut-body')
    const row = await settledRow(gw, USER, async () => {
      const res = await transcription()
      expect(res.status).toBe(502)
      await res.text()
    })
    expect(row).toMatchObject({ status: 'error', cost: 500, reserved: 500 })
  })
})

describe('a 2xx JSON answer without a usage field: charged its whole hold, row `ok`', () => {
  for (const route of ROUTES.filter((r) => !r.name.includes('stream') && !['embeddings', 'moderations'].includes(r.name))) {
    test(route.name, async () => {
      mock.queue('no-usage')
      const row = await settledRow(gw, USER, async () => {
        const res = await route.send()
        expect(res.status).toBe(200)
        await res.text()
      })
      expect(row.status).toBe('ok')
      expect(row.reserved).toBeGreaterThan(0)
      expect(row.cost).toBe(row.reserved)
      expectHeldTokens(route, row)
    })
  }
})

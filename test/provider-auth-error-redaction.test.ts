/**
 * A provider's refusal of the *operator's* credentials (401, 403, a proxy's 407) tells the client only that
 * the provider refused the gateway's credentials: the provider's text goes to the operator's log line alone
 * (SPEC §2 "Secrets are never … returned by any endpoint", §3 "provider error text is summarised, never
 * forwarded with credentials").
 *
 * OpenAI answers a wrong or revoked key with a 401 whose message quotes the key masked as its first 8
 * characters, stars, and its last 4: `Incorrect API key provided: sk-WRQsP*****…xQBt.` Redaction cuts the
 * whole key and `sk-` followed by 8+ key characters, but not the masked form (5 key characters after `sk-`),
 * so relaying the provider's message handed 9 characters of the operator's key to every client. Every route
 * that calls a provider is checked: metered JSON and streams, translated ones, audio, and the free
 * pass-throughs (count_tokens, input_tokens, GET/DELETE /v1/responses/{id}).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

// A legacy-format OpenAI key (sk- + 48 characters), distinctive head and tail.
const PROVIDER_KEY = 'sk-Qw3rTj8LmN2pV5xZ7bC9dF1gH4kM6nP0rS2tU4wY6zA8q9xZq'
const masked = (key: string) => `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`
const HEAD = PROVIDER_KEY.slice(3, 8) // "Qw3rT": the 5 key characters the mask shows after "sk-"
const TAIL = PROVIDER_KEY.slice(-4) // "9xZq": the last 4
// Exactly the body api.openai.com sends for a key it does not accept.
const openAIRefusal = (status: number) =>
  jsonResponse(
    {
      error: {
        message: `Incorrect API key provided: ${masked(PROVIDER_KEY)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    },
    status,
  )

const STORED_ID = 'resp_auth_refused'
const storedResponse = () =>
  jsonResponse({
    id: STORED_ID, object: 'response', status: 'completed', model: 'm',
    usage: { input_tokens: 3, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5 },
    output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const lines: string[] = []
const write = process.stdout.write.bind(process.stdout)

beforeAll(async () => {
  ;(process.stdout as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
    lines.push(String(chunk))
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest)
  }
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: {
        oai: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: PROVIDER_KEY },
        ant: { type: 'anthropic', base_url: upstream.url, api_key: PROVIDER_KEY },
      },
      pricing: {
        'oai:m': { input_per_million: 1, output_per_million: 2 },
        'ant:m': { input_per_million: 1, output_per_million: 2 },
        'oai:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'team-auth-refused', max_budget: 10 })).secret
  upstream.answer(storedResponse)
  const stored = await call('POST', '/v1/responses', { model: 'oai:m', max_output_tokens: 8, input: 'hi' })
  if (stored.status !== 200) throw new Error(`setup: ${stored.status} ${await stored.text()}`)
})
afterAll(async () => {
  ;(process.stdout as { write: unknown }).write = write
  await gw?.stop()
  await upstream?.stop()
})

const call = (method: string, path: string, body?: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })

const chat = { max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }
const cases: Array<[string, string, Record<string, unknown>?]> = [
  ['POST', '/v1/chat/completions', { model: 'oai:m', ...chat }],
  ['POST', '/v1/chat/completions', { model: 'oai:m', stream: true, ...chat }],
  ['POST', '/v1/chat/completions', { model: 'ant:m', stream: true, ...chat }],
  ['POST', '/v1/messages', { model: 'oai:m', ...chat }],
  ['POST', '/v1/messages', { model: 'ant:m', stream: true, ...chat }],
  ['POST', '/v1/responses', { model: 'oai:m', max_output_tokens: 16, input: 'hi' }],
  ['POST', '/v1/responses', { model: 'oai:m', max_output_tokens: 16, stream: true, input: 'hi' }],
  ['POST', '/v1/embeddings', { model: 'oai:m', input: 'hi' }],
  ['POST', '/v1/audio/speech', { model: 'oai:tts', input: 'hi', voice: 'alloy' }],
  ['POST', '/v1/messages/count_tokens', { model: 'ant:m', messages: [{ role: 'user', content: 'hi' }] }],
  ['POST', '/v1/responses/input_tokens', { model: 'oai:m', input: 'hi' }],
  ['GET', `/v1/responses/${STORED_ID}`],
  ['DELETE', `/v1/responses/${STORED_ID}`],
]

describe("a provider's 401, 403 or 407 for the operator's key", () => {
  for (const status of [401, 403, 407])
    test(`${status}: every route answers 502 with a fixed sentence, no fragment of the provider key`, async () => {
      upstream.answer(() => openAIRefusal(status))
      const before = upstream.calls.length
      for (const [method, path, body] of cases) {
        const res = await call(method, path, body)
        const text = await res.text()
        expect({ method, path, stream: !!body?.stream, status: res.status, leaked: text.includes(HEAD) || text.includes(TAIL), refused: text.includes("refused the gateway's credentials") }).toEqual({
          method, path, stream: !!body?.stream, status: 502, leaked: false, refused: true,
        })
      }
      expect(upstream.calls.length - before).toBe(cases.length)
    })

  test("the operator's log line has the provider's summary and the provider's host, never the key", async () => {
    upstream.answer(() => openAIRefusal(401))
    const res = await call('POST', '/v1/chat/completions', { model: 'oai:m', ...chat })
    const requestId = res.headers.get('x-request-id')
    await res.text()
    await Bun.sleep(20)
    const line = lines.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.request_id === requestId && l.level === 'warn')
    expect(line).toMatchObject({ msg: 'upstream provider refused the gateway credentials', upstream: new URL(upstream.url).host })
    expect(line.detail).toStartWith('Upstream provider answered 401: Incorrect API key provided')
    expect(lines.join('')).not.toContain(PROVIDER_KEY)
  })
})

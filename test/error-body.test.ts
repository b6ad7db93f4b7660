import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * A provider that answers HTTP 200 with a body that is only an error (OpenAI's `{"error": …}`,
 * Anthropic's `{"type": "error", …}`) has made nothing: the client gets a 502 in its route's error shape
 * with a summary of the provider's message (never its credentials), and the hold is released. Anthropic's
 * `overloaded_error` is told to an Anthropic client by that type, as from a 529.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

const PLAIN_SECRET = 'sk-scripted-secret-0123456789'
const OPENAI_ERROR = { error: { message: `The server had an error (key ${PLAIN_SECRET})`, type: 'server_error', code: null } }
const ANTHROPIC_ERROR = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: {
        'plain:m': { input_per_million: 1, output_per_million: 2 },
        'plain:e': { input_per_million: 1, output_per_million: 0 },
        'ant:m': { input_per_million: 1, output_per_million: 2 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'team-errors', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

async function send(path: string, body: Record<string, unknown>) {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

/** The request's usage row, after checking that nothing stays reserved and spend did not move. */
async function releasedRow(run: () => Promise<void>) {
  await gw.settled()
  const before = (await gw.admin('GET', '/v1/users/team-errors')).body
  await run()
  await gw.settled()
  const after = (await gw.admin('GET', '/v1/users/team-errors')).body
  expect(after.reserved).toBe(0)
  expect(after.spend).toBe(before.spend)
  return gw.query<{ status: string; cost: number; reserved: number }>('SELECT status, cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]!
}

const chatBody = (model: string) => ({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })

const CASES = [
  { name: 'chat → OpenAI-compatible, OpenAI error body', path: '/v1/chat/completions', body: chatBody('plain:m'), answer: OPENAI_ERROR, said: 'The server had an error' },
  { name: 'chat → Anthropic, Anthropic error body', path: '/v1/chat/completions', body: chatBody('ant:m'), answer: ANTHROPIC_ERROR, said: 'Overloaded' },
  { name: 'messages → Anthropic, Anthropic error body', path: '/v1/messages', body: chatBody('ant:m'), answer: ANTHROPIC_ERROR, said: 'Overloaded' },
  { name: 'messages → OpenAI-compatible, OpenAI error body', path: '/v1/messages', body: chatBody('plain:m'), answer: OPENAI_ERROR, said: 'The server had an error' },
  { name: 'embeddings, OpenAI error body', path: '/v1/embeddings', body: { model: 'plain:e', input: 'hi' }, answer: OPENAI_ERROR, said: 'The server had an error' },
]

describe('a 200 whose body is only an error: 502 in the route\'s shape, hold released', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      upstream.answer(() => jsonResponse(c.answer))
      const row = await releasedRow(async () => {
        const { status, text } = await send(c.path, c.body)
        expect(status).toBe(502)
        const body = JSON.parse(text)
        const anthropicType = c.answer === ANTHROPIC_ERROR ? 'overloaded_error' : 'api_error'
        if (c.path === '/v1/messages') expect(body).toEqual({ type: 'error', error: { type: anthropicType, message: expect.any(String) } })
        else expect(body).toEqual({ error: { message: expect.any(String), type: 'api_error', code: 'upstream_error', param: null } })
        expect(body.error.message).toContain(`Upstream provider answered 200: ${c.said}`)
        expect(text).not.toContain(PLAIN_SECRET)
      })
      expect(row.reserved).toBeGreaterThan(0)
      expect(row).toMatchObject({ status: 'error', cost: 0 })
    })
  }
})

describe('the same bodies answering a stream request: 502 before any event, hold released', () => {
  for (const c of CASES.filter((c) => c.path !== '/v1/embeddings')) {
    test(c.name, async () => {
      upstream.answer(() => jsonResponse(c.answer))
      const row = await releasedRow(async () => {
        const { status, text } = await send(c.path, { ...c.body, stream: true })
        expect(status).toBe(502)
        expect(JSON.parse(text).error.message).toContain(`Upstream provider answered 200: ${c.said}`)
      })
      expect(row).toMatchObject({ status: 'error', cost: 0 })
    })
  }
})

test('an answer with usage beside `error: null` is still an answer, billed by its usage', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm', error: null,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    }),
  )
  const { status } = await send('/v1/chat/completions', chatBody('plain:m'))
  expect(status).toBe(200)
  await gw.settled()
  const row = gw.query<{ status: string; cost: number }>('SELECT status, cost FROM usage ORDER BY id DESC LIMIT 1')[0]!
  expect(row).toEqual({ status: 'ok', cost: 3 * 1 + 4 * 2 })
})

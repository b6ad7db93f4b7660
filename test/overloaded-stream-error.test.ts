/**
 * A provider overloaded inside a 200 stream (Anthropic's `overloaded_error` event; OpenAI's error with code
 * `server_is_overloaded`, type `service_unavailable_error`) reaches every client in its own family's words for
 * "overloaded", which clients retry or fall back on where they take other server errors as final (Claude Code
 * counts overloaded_errors; Codex reads server_is_overloaded): `overloaded_error` on /v1/messages, the OpenAI error
 * shape on chat and `response.failed` with that code on Responses, translated or not. Other provider errors keep
 * their generic mapping. The stream is settled exactly as one ending in any other provider error (SPEC §6): released
 * when it failed before any output, else what was generated so far.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

const PRICE = { input_per_million: 1, output_per_million: 2 }

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({
    config: {
      // `viachat`: the OpenAI-compatible server without the Responses API, whose chat stream a Responses client gets translated.
      providers: { ...providers, viachat: { ...providers.plain, responses: 'chat' } },
      pricing: { 'plain:m': PRICE, 'ant:m': PRICE, 'viachat:m': PRICE },
    },
  })
  secret = (await gw.userWithKey({ id: 'team-overloaded', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const MESSAGE_START = anthropicEvent({
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } },
})
const ANTHROPIC_TEXT = [
  anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
]
const anthropicError = (type: string, message: string) => anthropicEvent({ type: 'error', error: { type, message } })
const OPENAI_TEXT = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' } }] })
const openAIError = (type: string, code: string | null, message: string) => openAIEvent({ error: { message, type, code } })
const OPENAI_OVERLOADED = openAIError('service_unavailable_error', 'server_is_overloaded', 'Our servers are currently overloaded.')

type Client = 'messages' | 'chat' | 'responses'

async function streamFrom(client: Client, model: string): Promise<string> {
  const path = { messages: '/v1/messages', chat: '/v1/chat/completions', responses: '/v1/responses' }[client]
  const body =
    client === 'responses'
      ? { model, input: 'Say something', stream: true, max_output_tokens: 100, store: false }
      : { model, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say something' }] }
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  })
  expect(res.status).toBe(200)
  return res.text()
}

/** The data of the stream's events that carry an error, parsed. */
const errorsIn = (text: string) =>
  [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!)).filter((d) => d.error || d.type === 'error' || d.type === 'response.failed')

/** What the client reads as the stream's error, in its family's shape. */
function clientError(client: Client, text: string) {
  const [event] = errorsIn(text)
  if (client === 'messages') return { type: event.error.type }
  if (client === 'chat') return { type: event.error.type, code: event.error.code }
  return { code: event.response.error.code }
}

const OVERLOADED = {
  messages: { type: 'overloaded_error' },
  chat: { type: 'service_unavailable_error', code: 'server_is_overloaded' },
  responses: { code: 'server_is_overloaded' },
}

/**
 * The stream `events` ending with `overloaded`, then the same ending with `plain` (a provider error of no special
 * kind): the client reads the first in its family's words for overloaded, and both settle alike.
 */
async function expectOverloadedSettledAsAnyError(client: Client, model: string, events: string[], overloaded: string, plain: string) {
  upstream.answer(() => sseResponse([...events, plain]))
  const asAnyError = await settledRow(gw, 'team-overloaded', async () => {
    await streamFrom(client, model)
  })
  upstream.answer(() => sseResponse([...events, overloaded]))
  const row = await settledRow(gw, 'team-overloaded', async () => {
    expect(clientError(client, await streamFrom(client, model))).toEqual(OVERLOADED[client])
  })
  expect(row).toEqual(asAnyError)
  expect(row.status).toBe('error')
  return row
}

describe('an Anthropic provider overloaded inside a 200 stream', () => {
  const overloaded = anthropicError('overloaded_error', 'Overloaded')
  const plain = anthropicError('api_error', 'Internal server error')
  for (const client of ['messages', 'chat', 'responses'] as const) {
    test(`${client} client: told overloaded; nothing charged before any output`, async () => {
      const row = await expectOverloadedSettledAsAnyError(client, 'ant:m', [MESSAGE_START], overloaded, plain)
      expect(row.cost).toBe(0)
    })

    test(`${client} client: told overloaded after some output, which is paid as any errored stream's`, async () => {
      const row = await expectOverloadedSettledAsAnyError(client, 'ant:m', [MESSAGE_START, ...ANTHROPIC_TEXT], overloaded, plain)
      expect(row.cost).toBeGreaterThan(0)
    })
  }

  test('another Anthropic error type stays a plain server error on chat and Responses', async () => {
    upstream.answer(() => sseResponse([MESSAGE_START, anthropicError('api_error', 'Internal server error')]))
    expect(clientError('messages', await streamFrom('messages', 'ant:m'))).toEqual({ type: 'api_error' })
    expect(clientError('chat', await streamFrom('chat', 'ant:m'))).toEqual({ type: 'api_error', code: 'upstream_error' })
    expect(clientError('responses', await streamFrom('responses', 'ant:m'))).toEqual({ code: 'server_error' })
  })

  test("a 200 whose body is only Anthropic's overloaded error is a 502 told as overloaded_error, and released", async () => {
    upstream.answer(() => jsonResponse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }))
    await settledRow(gw, 'team-overloaded', async () => {
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'ant:m', max_tokens: 100, messages: [{ role: 'user', content: 'Say something' }] }),
      })
      expect(res.status).toBe(502)
      expect(((await res.json()) as any).error.type).toBe('overloaded_error')
    }).then((row) => expect(row.cost).toBe(0))
  })
})

describe('an OpenAI-compatible provider overloaded inside a 200 chat stream', () => {
  const plain = openAIError('server_error', null, 'The server had an error')
  for (const client of ['messages', 'chat', 'responses'] as const) {
    // A Responses client reaches it through chat only where the provider has no Responses API.
    const model = client === 'responses' ? 'viachat:m' : 'plain:m'
    test(`${client} client: told overloaded; nothing charged before any output`, async () => {
      const row = await expectOverloadedSettledAsAnyError(client, model, [], OPENAI_OVERLOADED, plain)
      expect(row.cost).toBe(0)
    })

    test(`${client} client: told overloaded after some output, which is paid as any errored stream's`, async () => {
      const row = await expectOverloadedSettledAsAnyError(client, model, [OPENAI_TEXT], OPENAI_OVERLOADED, plain)
      expect(row.cost).toBeGreaterThan(0)
    })
  }

  test('a plain server_error stays api_error for an Anthropic client', async () => {
    upstream.answer(() => sseResponse([OPENAI_TEXT, plain]))
    expect(clientError('messages', await streamFrom('messages', 'plain:m'))).toEqual({ type: 'api_error' })
  })
})

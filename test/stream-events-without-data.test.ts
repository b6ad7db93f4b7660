/**
 * A streamed answer passes on nothing of the provider's but its events' data (SPEC §2 "Secrets are never …
 * returned by any endpoint", §3 provider text is "never forwarded with credentials"):
 * - an event without a `data:` line (an SSE comment, or only `event:` / `id:` lines) reaches the client as a
 *   bare `:` keep-alive, not as the provider wrote it: a provider or proxy that echoes the request in a
 *   debug comment must not hand the client the operator's provider key;
 * - a 2xx answer to a stream request that is no event stream (a plain-text echo of the request, headers and
 *   key included) is read as the JSON path reads it: not JSON, so an unusable answer, 502 and paid its whole
 *   hold, never relayed. JSON sent as `text/plain` is read as the JSON it is, and an event stream with
 *   parameters (`text/event-stream; charset=utf-8`) is still a stream.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { openAIEvent, scriptedGateway, scriptedProviders, type ScriptedUpstream } from './support/scripted-upstream'

const USER = 'team-stream-no-data'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
let KEY: string

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
  KEY = scriptedProviders(upstream).plain.api_key
})
afterAll(() => stop())

const streamChat = async (path = '/v1/chat/completions', model = 'plain:m') => {
  const body = path === '/v1/responses'
    ? { model, stream: true, max_output_tokens: 16, input: 'hi' }
    : { model, stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

const chunk = (content: string) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })
const usage = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })

describe('a stream answer that is not events carries no provider credential to the client', () => {
  test('a 200 text/plain echo of the request (its headers included): 502, paid its whole hold, nothing relayed', async () => {
    upstream.calls.length = 0
    upstream.answer(() => new Response(`POST /v1/chat/completions HTTP/1.1\nauthorization: Bearer ${KEY}\ncontent-type: application/json\n`, { headers: { 'content-type': 'text/plain' } }))
    let answer = { status: 0, text: '' }
    const row = await settledRow(gw, USER, async () => {
      answer = await streamChat()
    })
    expect(upstream.calls.length).toBe(1)
    expect({ leaked: answer.text.includes(KEY), text: answer.text }).toEqual({ leaked: false, text: expect.any(String) })
    expect(answer.status).toBe(502)
    expect(JSON.parse(answer.text).error.message).toBe('Upstream provider sent a malformed answer.')
    expect(row.status).toBe('error')
    expect(row.reserved).toBeGreaterThan(0)
    expect(row.cost).toBe(row.reserved)
  })

  test('a stream request answered with JSON as text/plain: read as the JSON answer it is', async () => {
    upstream.answer(() => new Response(JSON.stringify({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
    }), { headers: { 'content-type': 'text/plain; charset=utf-8' } }))
    const { status, text } = await streamChat()
    expect(status).toBe(200)
    expect(JSON.parse(text).choices[0].message.content).toBe('hi')
  })

  test('`text/event-stream; charset=utf-8` is still relayed as a stream', async () => {
    upstream.answer(() => new Response(chunk('hello') + usage + openAIEvent('[DONE]'), { headers: { 'content-type': 'Text/Event-Stream; charset=utf-8' } }))
    const { status, text } = await streamChat()
    expect(status).toBe(200)
    expect(text).toContain('"content":"hello"')
    expect(text).toContain('data: [DONE]')
  })

  for (const [path, model, key] of [
    ['/v1/chat/completions', 'plain:m', 'plain'],
    ['/v1/responses', 'plain:m', 'plain'],
    ['/v1/messages', 'ant:m', 'ant'],
  ] as const)
    test(`${path} (${model}): an SSE comment or data-less event quoting the key reaches the client as a bare keep-alive`, async () => {
      upstream.calls.length = 0
      const k = scriptedProviders(upstream)[key].api_key
      upstream.answer(() => new Response(`: debug x-api-key=${k}\n\nevent: ping\nid: ${k}\n\n`, { headers: { 'content-type': 'text/event-stream' } }))
      const { text } = await streamChat(path, model)
      expect(upstream.calls.length).toBeGreaterThan(0)
      expect({ leaked: text.includes(k), text }).toEqual({ leaked: false, text: expect.any(String) })
      expect(text).toStartWith(':\n\n:\n\n')
    })
})

/**
 * An event without data goes to the client as a bare ':' keep-alive; a data event is relayed with its `event:`
 * and `data:` lines only. A comment or an `id:` line in the same block as a `data:` line (`: debug
 * x-api-key=<key>` above the chunk) is the provider's text and must not reach the client, the operator's
 * provider key included (SPEC §2 "Secrets are never … returned by any endpoint"), on native chat, Responses and
 * messages streams alike.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, openAIEvent, scriptedGateway, scriptedProviders, type ScriptedUpstream } from './support/scripted-upstream'

const USER = 'team-rt-ak-comment-in-data'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const stream = async (path: string, model: string) => {
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

/** The first event of each native stream, with the debug comment and an `id:` line in its block. */
const withDebugLines = (event: string, key: string) => `: debug x-api-key=${key}\nid: ${key}\n${event}`

const openAIFirst = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: 'hello' }, finish_reason: null }] })
const openAIRest =
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) +
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }) +
  openAIEvent('[DONE]')

const response = { id: 'resp_1', object: 'response', model: 'm', status: 'in_progress', output: [] }
const usage = { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 6 }
const responsesFirst = `event: response.created\ndata: ${JSON.stringify({ type: 'response.created', sequence_number: 0, response })}\n\n`
const responsesRest = `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', sequence_number: 1, response: { ...response, status: 'completed', usage } })}\n\n`

const anthropicFirst = anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 5, output_tokens: 1 } } })
const anthropicRest =
  anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
  anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello' } }) +
  anthropicEvent({ type: 'content_block_stop', index: 0 }) +
  anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } }) +
  anthropicEvent({ type: 'message_stop' })

describe("a comment or id: line in a data event's block does not reach the client", () => {
  for (const [path, model, key, first, rest] of [
    ['/v1/chat/completions', 'plain:m', 'plain', openAIFirst, openAIRest],
    ['/v1/responses', 'plain:m', 'plain', responsesFirst, responsesRest],
    ['/v1/messages', 'ant:m', 'ant', anthropicFirst, anthropicRest],
  ] as const)
    test(`${path} (${model}): the provider key in a debug comment above the first data line is not relayed`, async () => {
      const k = scriptedProviders(upstream)[key].api_key
      upstream.answer(() => new Response(withDebugLines(first, k) + rest, { headers: { 'content-type': 'text/event-stream' } }))
      const { status, text } = await stream(path, model)
      expect(status).toBe(200)
      expect(text.length).toBeGreaterThan(0)
      expect({ leaked: text.includes(k) }).toEqual({ leaked: false })
    })
})

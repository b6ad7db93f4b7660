import { expect, setDefaultTimeout, test } from 'bun:test'
import { anthropicEvent, dataEvents, jsonResponse, openAIEvent, postResponses, scriptedProviders, sseResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * Mutation guard, src/translate/responses/response-events.ts and response-object.ts:
 * - A translated Responses stream numbers its events as OpenAI does: `sequence_number` 0, 1, 2… with none
 *   skipped or repeated, the done events and the final `response.completed` (written later, when their turn to be
 *   handed comes) included. The suites read events by type only, so a writer that numbered its deferred events
 *   without advancing the count (the final event repeating the last delta's number) passed them all.
 * - The response object repeats the request's `text.format` (a `json_schema` one too), as OpenAI's does; a
 *   translator that echoed `{format: {type: 'text'}}` whatever was asked passed every suite.
 */
setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  (u) => ({
    providers: { ...scriptedProviders(u), chat: { ...scriptedProviders(u).plain, responses: 'chat' } },
    pricing: { 'chat:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
  }),
  (s) => {
    upstream = s.upstream
    gw = s.gw
  },
)


const expectNumberedInTurn = (all: Array<Record<string, any>>) => {
  expect(all.length).toBeGreaterThan(5)
  expect(all.at(-1)!.type).toBe('response.completed')
  expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i))
}

test('through chat: a stream numbers every event in turn, from 0, none repeated', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-lp-seq-chat', max_budget: 10 })
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(() =>
    sseResponse([
      chunk({ role: 'assistant', content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  const res = await postResponses(gw, secret, { model: 'chat:m', input: 'hi', store: false, stream: true })
  expect(res.status).toBe(200)
  expectNumberedInTurn(dataEvents(await res.text()))
})

test('to Anthropic: a stream numbers every event in turn, from 0, none repeated', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-lp-seq-ant', max_budget: 10 })
  upstream.answer(() =>
    sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } }),
      anthropicEvent({ type: 'message_stop' }),
    ]),
  )
  const res = await postResponses(gw, secret, { model: 'ant:m', input: 'hi', store: false, stream: true })
  expect(res.status).toBe(200)
  expectNumberedInTurn(dataEvents(await res.text()))
})

test('the response repeats the json_schema text format the request asked for', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-lp-echo-format', max_budget: 10 })
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: '{"answer":"x"}' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    }),
  )
  const format = { type: 'json_schema', name: 'answer', strict: true, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } }
  const res = await postResponses(gw, secret, { model: 'chat:m', input: 'JSON please', store: false, text: { format } })
  expect(res.status).toBe(200)
  expect(((await res.json()) as any).text?.format).toEqual(format)
})

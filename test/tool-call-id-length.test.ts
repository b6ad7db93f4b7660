import { expect, setDefaultTimeout, test } from 'bun:test'
import type Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { toolCallId } from '../src/translate/tool-call-id'
import { jsonResponse, openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'

setDefaultTimeout(30_000)

/**
 * A translated tool call without an id gets one made up from the answer's id and the call's place. As
 * `toolu_<answer id>_<n>` it ran past 40 characters for an OpenAI-length answer id (`chatcmpl-` + 29, 38 in all):
 * OpenAI caps a tool call id at 40 ("string too long. Expected a string with maximum length 40"), so a conversation
 * holding such a call, later sent to an OpenAI model (a fallback, a model switch in the client), was refused. Made-up
 * ids now carry a short hash of the answer's id: at most 40 characters, still one per call and per answer.
 */
let upstream: ScriptedUpstream
let anthropic: Anthropic
let openai: OpenAI

withTranslatingGateway('tool-call-id-length', (started) => ({ upstream, anthropic, openai } = started))

const ANSWER_ID = 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT' // OpenAI's form, 38 characters
const weather = (city: string) => ({ type: 'function', function: { name: 'get_weather', arguments: `{"city":"${city}"}` } })
const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
const idlessCalls = () =>
  jsonResponse({
    id: ANSWER_ID, object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [weather('Paris'), weather('Lyon')] }, finish_reason: 'tool_calls' }],
    usage,
  })
const idlessStream = () => {
  const head = { id: ANSWER_ID, object: 'chat.completion.chunk', created: 1, model: 'm' }
  return sseResponse([
    openAIEvent({ ...head, choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, ...weather('Paris') }] }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 1, ...weather('Lyon') }] }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
    openAIEvent({ ...head, choices: [], usage }),
    openAIEvent('[DONE]'),
  ])
}

/** OpenAI's check of an assistant message's tool call ids. */
const tooLong = (body: any): string | undefined =>
  (body.messages as any[]).flatMap((m) => m.tool_calls ?? []).map((c) => c.id as string).find((id) => id.length > 40)

const tools = [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }]
const question = { role: 'user' as const, content: 'Weather in Paris and Lyon?' }

test('/v1/messages: made-up tool_use ids fit in 40 characters, differ per call, match between JSON and stream', async () => {
  upstream.answer(idlessCalls)
  const json = (await anthropic.messages.create({ model: 'plain:m', max_tokens: 200, tools, messages: [question] })).content
  upstream.answer(idlessStream)
  const streamed = (await anthropic.messages.stream({ model: 'plain:m', max_tokens: 200, tools, messages: [question] }).finalMessage()).content
  const ids = (content: Anthropic.ContentBlock[]) => content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []))
  expect(ids(json)).toHaveLength(2)
  expect(ids(json)).toEqual(ids(streamed))
  expect(new Set(ids(json)).size).toBe(2)
  for (const id of ids(json)) {
    expect(id.length).toBeLessThanOrEqual(40)
    expect(id).toMatch(/^toolu_[a-zA-Z0-9_-]+$/)
  }
})

test('/v1/messages: the conversation holding those calls is taken by an OpenAI model next turn', async () => {
  upstream.answer(idlessCalls)
  const answer = await anthropic.messages.create({ model: 'plain:m', max_tokens: 200, tools, messages: [question] })
  const uses = answer.content.flatMap((b) => (b.type === 'tool_use' ? [b] : []))
  upstream.answer(({ body }) => {
    const id = tooLong(body)
    if (id) return jsonResponse({ error: { message: `Invalid 'messages[2].tool_calls[0].id': string too long. Expected a string with maximum length 40, but got a string with length ${id.length} instead.`, type: 'invalid_request_error', param: 'messages[2].tool_calls[0].id', code: 'string_above_max_length' } }, 400)
    return jsonResponse({ id: 'chatcmpl-2', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Sunny in both.' }, finish_reason: 'stop' }], usage })
  })
  const next = await anthropic.messages.create({
    model: 'plain:m', max_tokens: 200, tools,
    messages: [question, { role: 'assistant', content: uses }, { role: 'user', content: uses.map((u) => ({ type: 'tool_result' as const, tool_use_id: u.id, content: 'sunny' })) }],
  })
  expect(next.content as unknown).toEqual([{ type: 'text', text: 'Sunny in both.' }])
})

test('/v1/responses through chat: made-up call_ids fit in 40 characters, JSON and stream alike', async () => {
  const request = { model: 'chat:m', store: false, input: 'Weather in Paris and Lyon?', tools: [{ type: 'function' as const, name: 'get_weather', parameters: { type: 'object' }, strict: false }] }
  const callIds = (output: OpenAI.Responses.ResponseOutputItem[]) => output.flatMap((item) => (item.type === 'function_call' ? [item.call_id] : []))
  upstream.answer(idlessCalls)
  const json = callIds((await openai.responses.create(request)).output)
  upstream.answer(idlessStream)
  const streamed = callIds((await openai.responses.stream(request).finalResponse()).output)
  expect(json).toHaveLength(2)
  expect(json).toEqual(streamed)
  for (const id of json) expect(id.length).toBeLessThanOrEqual(40)
})

test('made-up ids stay apart across answers, and for answers without an id', () => {
  const long = 'x'.repeat(200)
  expect(toolCallId(undefined, 'toolu', long, 123).length).toBeLessThanOrEqual(40)
  expect(toolCallId(undefined, 'toolu', 'msg:a', 0)).not.toBe(toolCallId(undefined, 'toolu', 'msg_a', 0)) // once both `msg_a`
  expect(toolCallId(undefined, 'call', ANSWER_ID, 0)).not.toBe(toolCallId(undefined, 'call', `${ANSWER_ID}x`, 0))
  expect(toolCallId('', 'toolu', undefined, 0)).not.toBe(toolCallId('', 'toolu', undefined, 0))
  expect(toolCallId('call_given', 'toolu', ANSWER_ID, 0)).toBe('call_given')
})

import { expect, setDefaultTimeout, test } from 'bun:test'
import type Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { jsonResponse, openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'

setDefaultTimeout(30_000)

/**
 * An OpenAI-compatible server that answers a tool call without an `id` (or with `id: ""`). Translated for
 * `/v1/messages`, a JSON answer's `tool_use` block had no id at all (`JSON.stringify` drops `id: undefined`) or an
 * empty one, and a streamed one `toolu_0` (the same in every answer) or an empty one. Anthropic's `tool_use.id` is a
 * required non-empty string: the client answers with `tool_result.tool_use_id` set to it, so a tool runner (or
 * Claude Code) could not send the result back; a Responses client (a `responses: chat` provider) likewise lacked
 * the `call_id` of its function call. The provider's id is used when it is a non-empty string; otherwise one is
 * made up from the answer's id and the call's place, by the same rule in a JSON answer and in a stream.
 */
let upstream: ScriptedUpstream
let anthropic: Anthropic
let openai: OpenAI

withTranslatingGateway('tool-call-without-id', (started) => ({ upstream, anthropic, openai } = started))

const messagesRequest = {
  model: 'plain:m',
  max_tokens: 200,
  tools: [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }],
  messages: [{ role: 'user' as const, content: 'Weather in Paris and Lyon?' }],
}
const responsesRequest = {
  model: 'chat:m',
  store: false,
  input: 'Weather in Paris and Lyon?',
  tools: [{ type: 'function' as const, name: 'get_weather', parameters: { type: 'object' }, strict: false }],
}

const weather = (city: string, id?: unknown) => ({ ...(id === undefined ? {} : { id }), type: 'function', function: { name: 'get_weather', arguments: `{"city":"${city}"}` } })
/** Two calls, for Paris and Lyon, with these ids (undefined: none). */
const completion = (ids: unknown[]) => () =>
  jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [weather('Paris', ids[0]), weather('Lyon', ids[1])] }, finish_reason: 'tool_calls' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  })
const stream = (ids: unknown[]) => () => {
  const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
  return sseResponse([
    openAIEvent({ ...head, choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, ...weather('Paris', ids[0]) }] }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 1, ...weather('Lyon', ids[1]) }] }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
    openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }),
    openAIEvent('[DONE]'),
  ])
}

const anthropicCalls = (content: Anthropic.ContentBlock[]) => content.filter((b) => b.type === 'tool_use').map((b) => ({ id: b.id, input: b.input }))
const viaMessagesJson = async () => anthropicCalls((await anthropic.messages.create(messagesRequest)).content)
const viaMessagesStream = async () => anthropicCalls((await anthropic.messages.stream(messagesRequest).finalMessage()).content)
const responsesCalls = (output: OpenAI.Responses.ResponseOutputItem[]) => output.flatMap((item) => (item.type === 'function_call' ? [{ id: item.call_id, input: JSON.parse(item.arguments) }] : []))
const viaResponsesJson = async () => responsesCalls((await openai.responses.create(responsesRequest)).output)
const viaResponsesStream = async () => responsesCalls((await openai.responses.stream(responsesRequest).finalResponse()).output)

/** The answer's id `chatcmpl-1` as made-up ids carry it: a short hash (test/tool-call-id-length.test.ts says why). */
const answerHash = new Bun.CryptoHasher('sha256').update('chatcmpl-1').digest('base64url').slice(0, 16)
const expectMadeUp = (calls: Array<{ id: unknown; input: unknown }>, prefix: string) => {
  expect(calls.map((c) => c.input)).toEqual([{ city: 'Paris' }, { city: 'Lyon' }])
  for (const { id } of calls) expect(id).toBeString()
  expect(calls.map((c) => c.id)).toEqual([`${prefix}_${answerHash}_0`, `${prefix}_${answerHash}_1`])
}

for (const [ids, what] of [[[undefined, undefined], 'no id'], [['', ''], 'id ""']] as const) {
  test(`/v1/messages JSON, tool calls with ${what}: each tool_use block has an id of its own`, async () => {
    upstream.answer(completion([...ids]))
    expectMadeUp(await viaMessagesJson(), 'toolu')
  })

  test(`/v1/messages streamed, tool calls with ${what}: the same ids as the JSON answer`, async () => {
    upstream.answer(stream([...ids]))
    expectMadeUp(await viaMessagesStream(), 'toolu')
  })

  test(`/v1/responses through chat, JSON, tool calls with ${what}: each function call has a call_id of its own`, async () => {
    upstream.answer(completion([...ids]))
    expectMadeUp(await viaResponsesJson(), 'call')
  })

  test(`/v1/responses through chat, streamed, tool calls with ${what}: the same call_ids as the JSON answer`, async () => {
    upstream.answer(stream([...ids]))
    expectMadeUp(await viaResponsesStream(), 'call')
  })
}

test('the provider\'s own ids are kept', async () => {
  upstream.answer(completion(['call_paris', 'call_lyon']))
  expect((await viaMessagesJson()).map((c) => c.id)).toEqual(['call_paris', 'call_lyon'])
  upstream.answer(stream(['call_paris', 'call_lyon']))
  expect((await viaResponsesStream()).map((c) => c.id)).toEqual(['call_paris', 'call_lyon'])
})

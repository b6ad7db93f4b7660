/**
 * A tool result's images and files, translated for an OpenAI-compatible provider, are gathered by
 * `ChatMessages.pushToolResult` for a user message after the tool messages. Gathered with a spread call
 * (`push(...output.media)`), every part became an argument on the stack: a Responses request (served through chat
 * completions) whose function_call_output carried ~680,000 tiny `input_image` parts, or a Messages request whose
 * tool_result carried ~638,000 URL images (bodies under the 25 MB limit), overflowed it, and the gateway answered
 * 500 internal_error to input a client can send. The same pattern in turn merging: merged-turns-many-parts.test.ts.
 *
 * Such bodies (680,000 parts of two members each) are now refused 400 `invalid_json` before they are parsed
 * (src/http/json-body.ts, MAX_JSON_MEMBERS = 100,000), so through the gateway they never reach the translation and
 * "not a 500" held with the spread back. The translation is given the same parts itself; the gateway's answer to the
 * body is checked to be that refusal, in the client's error shape, not a 500.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { messagesRequestToChat } from '../src/translate/messages-request-to-chat'
import { responsesRequestToChat } from '../src/translate/responses/request-to-chat'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(() =>
    jsonResponse({ id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 } }),
  )
  gw = await startTestGateway({
    config: {
      providers: { ...scriptedProviders(upstream), viachat: { ...scriptedProviders(upstream).plain, responses: 'chat' as const } },
      pricing: { 'plain:m': { input_per_million: 0.000001, output_per_million: 0.000001 }, 'viachat:m': { input_per_million: 0.000001, output_per_million: 0.000001 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'media-spread', max_budget: 100_000 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const post = (path: string, headers: Record<string, string>, body: string) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then(async (res) => ({ status: res.status, text: await res.text() }))

test('Responses via chat: a function_call_output with 680,000 input_image parts is not a 500', async () => {
  const parts = Array.from({ length: 680_000 }, () => '{"type":"input_image","image_url":""}').join(',')
  const body = `{"model":"viachat:m","max_output_tokens":5,"input":[{"role":"user","content":"hi"},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},{"type":"function_call_output","call_id":"c","output":[${parts}]}]}`
  expect(body.length).toBeLessThan(26_214_400)
  // Given to the translation itself, a million parts: past what any call stack takes as arguments.
  const many = JSON.parse(body)
  many.input[2].output = Array.from({ length: 1_000_000 }, () => ({ type: 'input_image', image_url: '' }))
  const translated = responsesRequestToChat(many, { outputCapField: 'max_tokens' }).request
  expect(translated.messages.at(-1).content.length).toBe(1_000_001) // the parts after the tool message, and their heading
  const answer = await post('/v1/responses', { authorization: `Bearer ${secret}` }, body)
  console.log(answer.status, answer.text.slice(0, 200))
  expect(answer.text).not.toContain('internal_error')
  expect({ status: answer.status, code: JSON.parse(answer.text).error?.code }).toEqual({ status: 400, code: 'invalid_json' })
}, 120_000)

test('Messages to an OpenAI-compatible model: a tool_result with 638,000 URL images is not a 500', async () => {
  const parts = Array.from({ length: 638_000 }, () => '{"type":"image","source":{"type":"url"}}').join(',')
  const body = `{"model":"plain:m","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[${parts}]}]}]}`
  expect(body.length).toBeLessThan(26_214_400)
  // Given to the translation itself, a million parts: past what any call stack takes as arguments.
  const many = JSON.parse(body)
  many.messages[2].content[0].content = Array.from({ length: 1_000_000 }, () => ({ type: 'image', source: { type: 'url' } }))
  const translated = messagesRequestToChat(many, { outputCapField: 'max_tokens' })
  expect(translated.messages.at(-1).content.length).toBe(1_000_001) // the parts after the tool message, and their heading
  const answer = await post('/v1/messages', { 'x-api-key': secret, 'anthropic-version': '2023-06-01' }, body)
  console.log(answer.status, answer.text.slice(0, 200))
  expect(answer.text).not.toContain('internal_error')
  expect({ status: answer.status, type: JSON.parse(answer.text).error?.type }).toEqual({ status: 400, type: 'invalid_request_error' })
}, 120_000)

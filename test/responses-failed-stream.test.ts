import { afterAll, beforeAll, beforeEach, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { anthropicEvent, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { startTestGateway, type TestGateway } from './support/gateway'

setDefaultTimeout(30_000)

/**
 * A translated Responses stream that fails, read by the OpenAI SDK's ResponseStream (`responses.stream()`,
 * which the Agents SDK and most apps use).
 *
 * 1. Failing before the target's first event (Anthropic's `overloaded_error` as the first event, as it sends it
 *    under load): `response.failed` comes after `response.created` (the SDK's accumulator refuses any event
 *    before it), so the client gets the failed response with the provider's message ("Overloaded").
 * 2. Failing after output: `response.failed` lists the items still open as far as they were streamed
 *    (`incomplete`), so the text the client was streamed (and is billed for) stays in the final response:
 *    ResponseStream replaces its snapshot with that output.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let openai: OpenAI

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({ config: {
    providers: { ...providers, chat: { ...providers.plain, responses: 'chat' } },
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 }, 'chat:m': { input_per_million: 1, output_per_million: 2 } },
  } })
  const { secret } = await gw.userWithKey({ id: 'team-failed-stream', max_budget: 10 })
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => { upstream.calls.length = 0 })

const overloaded = anthropicEvent({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })
const messageStart = anthropicEvent({ type: 'message_start', message: { id: 'msg_f', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } })

test('Anthropic target, error as the first event: the SDK gets a failed response carrying the provider\'s message', async () => {
  upstream.answer(() => sseResponse([overloaded]))
  const response = await openai.responses.stream({ model: 'ant:m', input: 'hi' }).finalResponse()
  expect(response.status).toBe('failed')
  expect(response.error?.message).toBe('Overloaded')
})

test('Anthropic target, error after streamed text: the failed response keeps that text', async () => {
  upstream.answer(() => sseResponse([
    messageStart,
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'The answer is' } }),
    overloaded,
  ]))
  const response = await openai.responses.stream({ model: 'ant:m', input: 'hi' }).finalResponse()
  expect(response.status).toBe('failed')
  expect(response.output_text).toBe('The answer is')
})

test('chat target, error chunk after streamed text: the failed response keeps that text', async () => {
  const chunk = (delta: unknown) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })
  upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: '' }), chunk({ content: 'The answer is' }), openAIEvent({ error: { message: 'boom' } })]))
  const response = await openai.responses.stream({ model: 'chat:m', input: 'hi' }).finalResponse()
  expect(response.status).toBe('failed')
  expect(response.output_text).toBe('The answer is')
})

import { afterAll, beforeAll, beforeEach, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema'
import { billedRows, startClientSetup, type ClientSetup } from './support/clients'

setDefaultTimeout(30_000)

/**
 * The Anthropic SDK's own tool loop, `client.beta.messages.toolRunner(...)`, as a team runs it: a default
 * `new Anthropic()` client, only base URL and key changed. The runner runs over a message thread by default
 * (`thread: {type: "create"}` on the first turn, then `thread: {type: "continue", previous_message_id}` with
 * only the new messages, and without `system`/`tools`, which the server keeps). The gateway serves no
 * continued thread (its stored conversation is input it cannot size) and no thread at all on a chat provider
 * (which keeps none), and refuses them as Anthropic refuses a request it cannot thread:
 * `error.details.error_code: "thread_unsupported_request"`. On that the SDK drops the thread and replays the
 * whole history (ThreadState.recoversFrom, `unsupportedRequestBehavior: 'continue_unthreaded'`).
 */
let setup: ClientSetup
let client: Anthropic

beforeAll(async () => {
  setup = await startClientSetup()
  client = new Anthropic({ baseURL: setup.gw.url, apiKey: setup.secret, maxRetries: 0 })
})
afterAll(() => setup?.stop())
beforeEach(() => setup.mock.reset())

const weather = () =>
  betaTool({
    name: 'get_weather',
    description: 'Current weather for a city',
    inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    run: (args) => `sunny in ${args.city}`,
  })

test('toolRunner on an Anthropic model: the second turn is served (a thread the gateway refuses is refused in the form the SDK recovers from)', async () => {
  let final: Anthropic.Beta.BetaMessage | undefined
  let failure = ''
  const rows = await billedRows(setup, async () => {
    try {
      final = await client.beta.messages
        .toolRunner({ model: 'mockant:claude-mock', max_tokens: 300, messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: [weather()] })
        .runUntilDone()
    } catch (e) {
      failure = String(e)
    }
  })
  // Against Anthropic directly the loop ends with the model's answer to the tool result.
  expect(failure).toBe('')
  expect(final?.content as unknown[] | undefined).toEqual([{ type: 'text', text: 'Hello from the mock provider.' }])
  expect(rows.map((r) => r.endpoint)).toEqual(['/v1/messages', '/v1/messages'])
})

test('toolRunner on an OpenAI-type model: the provider gets the whole conversation, not a lone tool result', async () => {
  const final = await client.beta.messages
    .toolRunner({ model: 'mock:gpt-mock', max_tokens: 300, system: 'Answer briefly.', messages: [{ role: 'user', content: 'What is the weather in Paris?' }], tools: [weather()] })
    .runUntilDone()
  expect(final.content[0]).toMatchObject({ type: 'text' })
  const calls = setup.mock.calls.filter((c) => c.path === '/v1/chat/completions')
  const last = calls.at(-1)!.body as { messages: { role: string; content?: unknown; tool_calls?: { id: string }[] }[]; tools?: unknown[] }
  // The chat provider keeps no thread: the turn answering the tool result must carry what came before it
  // (OpenAI refuses a `tool` message with no assistant `tool_calls` before it, and the question, system prompt
  // and tools would otherwise be lost).
  expect(last.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool'])
  expect(last.messages[2]!.tool_calls?.[0]?.id).toBe('call_1')
  expect(last.tools).toHaveLength(1)
})

test('a refused thread: 400 with error.details.error_code "thread_unsupported_request", no provider call, no usage row', async () => {
  const usageRows = () => setup.gw.query('SELECT count(*) AS n FROM usage')[0].n as number
  await setup.gw.settled()
  const rows = usageRows()
  const cases = [
    { model: 'mockant:claude-mock', thread: { type: 'continue', previous_message_id: 'msg_unknown' } },
    { model: 'mock:gpt-mock', thread: { type: 'create' } },
    { model: 'mock:gpt-mock', thread: { type: 'continue', previous_message_id: 'msg_unknown' } },
  ]
  for (const { model, thread } of cases) {
    const res = await fetch(`${setup.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': setup.secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], thread }),
    })
    const body = (await res.json()) as { error: { message: string } }
    expect(res.status, `${model} ${thread.type}`).toBe(400)
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', details: { error_code: 'thread_unsupported_request' } } })
    expect(body.error.message).toStartWith('Invalid body: thread:')
  }
  await setup.gw.settled()
  expect(setup.mock.calls).toEqual([])
  expect(usageRows()).toBe(rows)
})

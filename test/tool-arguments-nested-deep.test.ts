/**
 * The body's depth check (src/http/json-body.ts, MAX_JSON_DEPTH) is there so that nothing after it (validation,
 * estimates, re-serialising for the provider) ever walks a pathologically deep value. But some of the body is JSON
 * inside a string, parsed into the request sent on when it is translated for Anthropic: a chat tool call's or a
 * Responses `function_call`'s `arguments` (the `tool_use` block's `input`), and the thinking block a Responses
 * `reasoning` item carries in its `encrypted_content`. Nested 100,000 deep, they parsed, and the next walk (the
 * estimate's JSON.stringify) overflowed the stack: 500 internal_error to a body a client can send. They are refused
 * as the body itself would be: 400, naming the field, before any hold.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mockant:claude-mock': { input_per_million: 0.001, output_per_million: 0.001 } } } })
  ;({ secret } = await gw.userWithKey({ id: 'deep-args', max_budget: 100 }))
})

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

const DEPTH = 100_000
const deepObject = '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH)

/** How the gateway's reasoning items carry Claude's thinking (src/translate/responses/reasoning-carrier.ts): base64 JSON after it. */
const CARRIER_PREFIX = 'tollgate-anthropic-thinking.v1:'

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

function expectRefusedNaming(answer: { status: number; text: string }, field: string) {
  expect(answer.text).not.toContain('internal_error')
  expect(answer.status).toBe(400)
  expect(JSON.parse(answer.text).error.message).toContain(field)
}

test('chat → Anthropic: tool-call arguments nested 100,000 deep are a client error, not a 500', async () => {
  const answer = await post('/v1/chat/completions', {
    model: 'mockant:claude-mock',
    max_tokens: 5,
    messages: [
      { role: 'user', content: 'hi' },
      { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: deepObject } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'ok' },
    ],
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
  })
  expectRefusedNaming(answer, 'messages[1].tool_calls[0].function.arguments')
}, 60_000)

test('Responses → Anthropic: function_call arguments nested 100,000 deep are a client error, not a 500', async () => {
  const answer = await post('/v1/responses', {
    model: 'mockant:claude-mock',
    max_output_tokens: 5,
    input: [
      { role: 'user', content: 'hi' },
      { type: 'function_call', call_id: 'call_1', name: 'f', arguments: deepObject },
      { type: 'function_call_output', call_id: 'call_1', output: 'ok' },
    ],
    tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
  })
  expectRefusedNaming(answer, 'input[1].arguments')
}, 60_000)

test('Responses → Anthropic: a carried thinking block nested 100,000 deep is a client error, not a 500', async () => {
  const block = `{"type":"thinking","thinking":"x","signature":"s","a":${deepObject}}`
  const answer = await post('/v1/responses', {
    model: 'mockant:claude-mock',
    max_output_tokens: 5,
    input: [
      { role: 'user', content: 'hi' },
      { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: CARRIER_PREFIX + Buffer.from(block).toString('base64') },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'again' },
    ],
  })
  expectRefusedNaming(answer, 'input[1].encrypted_content')
}, 60_000)

import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Structured outputs across the translation. Anthropic's `output_config.format` (json_schema) is constrained
 * decoding: the answer always parses and follows the schema. OpenAI's `response_format: {type: json_schema}`
 * only does that with `json_schema.strict: true` — its default is false ("best effort") — so a Messages client
 * of an OpenAI model lost the guarantee it asked for. Likewise a tool's `strict: true` (OpenAI function
 * `strict`, Anthropic tool `strict`: inputs guaranteed to match the schema) was dropped in both directions,
 * where both APIs carry it. A `strict: false` is both APIs' default and asks for nothing.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } } },
  (s) => ({ upstream, gw } = s),
)

const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }
const completion = { id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: '{"city":"Paris"}' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 5 } }
const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 1 } }

/** The body the provider received for this request. */
async function sent(path: string, user: string, body: unknown) {
  upstream.answer(() => jsonResponse(path === '/v1/messages' ? completion : anthropicAnswer))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  await res.text()
  expect(res.status).toBe(200)
  return upstream.calls.at(-1)!.body
}

test('messages → OpenAI: output_config.format json_schema goes as a strict json_schema response format', async () => {
  const body = await sent('/v1/messages', 'strict-format', {
    model: 'plain:m', max_tokens: 50, messages: [{ role: 'user', content: 'Capital of France as JSON' }],
    output_config: { format: { type: 'json_schema', schema } },
  })
  expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: true } })
})

test("messages → OpenAI: a tool's strict: true reaches the function definition; strict: false sends none", async () => {
  const body = await sent('/v1/messages', 'strict-tool-openai', {
    model: 'plain:m', max_tokens: 50, messages: [{ role: 'user', content: 'Weather?' }],
    tools: [{ name: 'get_weather', input_schema: schema, strict: true }, { name: 'loose', input_schema: schema, strict: false }],
  })
  expect(body.tools[0].function.strict).toBe(true)
  expect('strict' in body.tools[1].function).toBe(false)
})

test("chat → Anthropic: a function's strict: true reaches the Anthropic tool; strict: false sends none", async () => {
  const body = await sent('/v1/chat/completions', 'strict-tool-anthropic', {
    model: 'ant:m', max_tokens: 50, messages: [{ role: 'user', content: 'Weather?' }],
    tools: [
      { type: 'function', function: { name: 'get_weather', parameters: schema, strict: true } },
      { type: 'function', function: { name: 'loose', parameters: schema, strict: false } },
    ],
  })
  expect(body.tools[0].strict).toBe(true)
  expect('strict' in body.tools[1]).toBe(false)
})

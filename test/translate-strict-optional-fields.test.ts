import { expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod'
import { z } from 'zod/v4'
import { messagesRequestToChat } from '../src/translate/messages-request-to-chat'
import { fitsOpenAIStrict } from '../src/translate/openai-strict-schema'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Anthropic's `output_config.format` goes to an OpenAI-compatible provider as
 * `response_format.json_schema` with `strict: true`. OpenAI's strict mode accepts only a subset of JSON Schema:
 * every object must say `additionalProperties: false` AND list every property in `required` (an optional field
 * is written as a union with null). Anthropic's structured outputs take optional properties (a `required` that
 * lists some), and the Anthropic SDK's own `zodOutputFormat` writes `.optional()` fields exactly so. OpenAI
 * answers such a strict schema with 400 "'required' is required to be supplied and to be an array including
 * every key in properties. Missing 'country'" — a request the gateway served before the fix (non-strict) is now
 * refused by the provider. The scripted upstream below applies OpenAI's documented strict-schema rule. A schema
 * outside OpenAI's strict subset now goes without `strict`, as it did before; one inside it keeps `strict: true`.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

/** OpenAI's strict-schema rule for objects (https://platform.openai.com/docs/guides/structured-outputs#supported-schemas). */
function strictViolation(schema: any, path = 'root'): string | null {
  if (!schema || typeof schema !== 'object') return null
  if (schema.type === 'object') {
    if (schema.additionalProperties !== false) return `In context=${path}, 'additionalProperties' is required to be supplied and to be false.`
    const keys = Object.keys(schema.properties ?? {})
    const missing = keys.filter((k) => !(schema.required ?? []).includes(k))
    if (missing.length > 0) return `In context=${path}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`
    for (const k of keys) {
      const inner = strictViolation(schema.properties[k], `${path}.${k}`)
      if (inner) return inner
    }
  }
  return null
}

const completion = {
  id: 'chatcmpl-1', object: 'chat.completion', model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: '{"city":"Paris"}' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
}

test("Anthropic SDK messages.parse with zodOutputFormat and an optional field is served by an OpenAI model, as before strict was added", async () => {
  upstream.answer(({ body }) => {
    const format = body.response_format?.json_schema
    const problem = format?.strict === true ? strictViolation(format.schema) : null
    if (problem) return jsonResponse({ error: { message: `Invalid schema for response_format 'output': ${problem}`, type: 'invalid_request_error', param: 'response_format', code: null } }, 400)
    return jsonResponse(completion)
  })
  const { secret } = await gw.userWithKey({ id: 'strict-optional', max_budget: 10 })
  const client = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })

  const City = z.object({ city: z.string(), country: z.string().optional() })
  let failure = ''
  let parsed: unknown
  try {
    const message = await client.messages.parse({
      model: 'plain:m', max_tokens: 100,
      messages: [{ role: 'user', content: 'Capital of France, as JSON' }],
      output_config: { format: zodOutputFormat(City) },
    })
    parsed = message.parsed_output
  } catch (e) {
    failure = String(e)
  }
  // The SDK's schema: additionalProperties false, required ['city'] only.
  expect(upstream.calls).toHaveLength(1)
  expect(failure).toBe('')
  expect(parsed).toEqual({ city: 'Paris' })
})

test("a Messages tool with strict: true and an optional property is served by an OpenAI model, as before strict was carried", async () => {
  upstream.answer(({ body }) => {
    const bad = (body.tools ?? []).map((t: any) => (t.function?.strict === true ? strictViolation(t.function.parameters) : null)).find(Boolean)
    if (bad) return jsonResponse({ error: { message: `Invalid schema for function 'get_weather': ${bad}`, type: 'invalid_request_error', param: 'tools[0].function.parameters', code: 'invalid_function_parameters' } }, 400)
    return jsonResponse(completion)
  })
  const { secret } = await gw.userWithKey({ id: 'strict-optional-tool', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:m', max_tokens: 100, messages: [{ role: 'user', content: 'Weather in Paris?' }],
      // Valid for Anthropic's strict tool use: additionalProperties false, `unit` optional.
      tools: [{ name: 'get_weather', strict: true, input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'], additionalProperties: false } }],
    }),
  })
  const text = await res.text()
  expect(upstream.calls).toHaveLength(1)
  expect({ status: res.status, text: res.status === 200 ? '' : text }).toEqual({ status: 200, text: '' })
})

const closed = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({ type: 'object', properties, required, additionalProperties: false })
const open = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: [] as string[], additionalProperties: false })

test('the strict check walks nested objects: properties, items, anyOf, allOf and $defs', () => {
  expect(fitsOpenAIStrict(closed({ city: { type: 'string' } }))).toBe(true)
  expect(fitsOpenAIStrict(closed({ tags: { type: 'array', items: closed({ name: { type: 'string' } }) } }))).toBe(true)
  expect(fitsOpenAIStrict(closed({ where: { anyOf: [closed({ city: { type: 'string' } }), { type: 'null' }] } }))).toBe(true)
  expect(fitsOpenAIStrict({ ...closed({ home: { $ref: '#/$defs/place' } }), $defs: { place: closed({ city: { type: 'string' } }) } })).toBe(true)

  expect(fitsOpenAIStrict({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] })).toBe(false) // no additionalProperties
  expect(fitsOpenAIStrict(closed({ nested: open({ city: { type: 'string' } }) }))).toBe(false)
  expect(fitsOpenAIStrict(closed({ tags: { type: 'array', items: open({ name: { type: 'string' } }) } }))).toBe(false)
  expect(fitsOpenAIStrict(closed({ where: { anyOf: [open({ city: { type: 'string' } }), { type: 'null' }] } }))).toBe(false)
  expect(fitsOpenAIStrict(closed({ both: { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }] } }))).toBe(false)
  expect(fitsOpenAIStrict({ ...closed({ home: { $ref: '#/$defs/place' } }), $defs: { place: open({ city: { type: 'string' } }) } })).toBe(false)
  expect(fitsOpenAIStrict({ type: 'string' })).toBe(false) // the root must be an object
})

test('a schema inside the strict subset keeps strict: true; one outside it goes without strict (format and tool alike)', () => {
  const fits = closed({ city: { type: 'string' } })
  const optional = { ...fits, required: [] }
  const request = (schema: unknown) => messagesRequestToChat({
    max_tokens: 10, messages: [{ role: 'user', content: 'Paris?' }],
    output_config: { format: { type: 'json_schema', schema } },
    tools: [{ name: 't', strict: true, input_schema: schema }],
  }, { outputCapField: 'max_tokens' })
  expect(request(fits).response_format.json_schema).toEqual({ name: 'output', schema: fits, strict: true })
  expect(request(fits).tools[0].function.strict).toBe(true)
  expect(request(optional).response_format.json_schema).toEqual({ name: 'output', schema: optional })
  expect('strict' in request(optional).tools[0].function).toBe(false)
})

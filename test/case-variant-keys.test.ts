/**
 * Where the gateway reads the API's fields (the top level and its settings objects; messages, input items, tools,
 * system blocks; their parts, tool calls and tool outputs, at any depth of content; one level down, the objects it
 * reads in those), a key a case-insensitive reader (Go's encoding/json) would take for another is refused before any
 * hold: every inference route, every spelling Go folds, the path named.
 * Objects whose keys are the client's own (tool schemas, tool inputs, metadata) keep them as sent.
 */
import { describe, expect, test } from 'bun:test'
import { GatewayError } from '../src/http/errors'
import { refuseCaseVariantKeys } from '../src/http/case-variant-keys'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

const refusal = (body: unknown): GatewayError | null => {
  try {
    refuseCaseVariantKeys(body)
    return null
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
}

describe('refuseCaseVariantKeys', () => {
  test('a body spelled as the APIs spell their fields passes, the client-named keys of deeper objects as sent', () => {
    expect(
      refusal({
        model: 'm',
        metadata: { Env: 'prod', env: 'dev' },
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { City: 'Paris', city: 'paris' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'ok' }] }] },
        ],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { Name: { type: 'string' }, ID: {}, id: {} } } } }],
        response_format: { type: 'json_schema', json_schema: { name: 's', schema: { properties: { Model: {} } } } },
        clé: 'a lowercase key of another script',
      }),
    ).toBeNull()
  })

  test('a capital, or a letter Go folds onto ASCII (ſ, the Kelvin sign, ı), is refused at the top level', () => {
    for (const key of ['Model', 'N', 'Service_Tier', 'ſtream', 'max_to\u212Aens', 'ınput', 'MAX_TOKENS']) {
      const error = refusal({ model: 'm', [key]: 1 })
      expect(error?.status).toBe(400)
      expect(error?.code).toBe('case_variant_key')
      expect(error?.message).toStartWith(`Invalid body: ${key}: `)
    }
    expect(refusal({ model: 'm', ſtream: true })?.message).toContain('"ſtream" as "stream"')
    expect(refusal({ model: 'm', ['max_to\u212Aens']: 1 })?.message).toContain('as "max_tokens"')
    expect(refusal({ model: 'm', ınput: 'x' })?.message).toContain('as "input"')
  })

  test('messages, input items, tools, system blocks and their parts are checked too, at any depth of content', () => {
    const where = (body: unknown) => refusal(body)?.message.split(': keys here')[0]
    expect(where({ messages: [{ role: 'user', Content: 'x' }] })).toBe('Invalid body: messages.0.Content')
    expect(where({ messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { Type: 'image_url' }] }] })).toBe('Invalid body: messages.0.content.1.Type')
    expect(where({ messages: [{ role: 'user', content: [{ type: 'tool_result', content: [{ type: 'text', Text: 'x' }] }] }] })).toBe('Invalid body: messages.0.content.0.content.0.Text')
    expect(where({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', Type: 'function' }] }] })).toBe('Invalid body: messages.0.tool_calls.0.Type')
    expect(where({ input: [{ type: 'function_call_output', output: [{ type: 'input_image', Detail: 'original' }] }] })).toBe('Invalid body: input.0.output.0.Detail')
    expect(where({ input: [{ type: 'message', content: [{ TYPE: 'input_file' }] }] })).toBe('Invalid body: input.0.content.0.TYPE')
    expect(where({ tools: [{ type: 'web_search_20250305', Max_Uses: 99 }] })).toBe('Invalid body: tools.0.Max_Uses')
    expect(where({ system: [{ type: 'text', text: 'a', Type: 'x' }] })).toBe('Invalid body: system.0.Type')
  })

  test('the objects the gateway reads in a part, block, tool or item are checked too, one level down', () => {
    const where = (body: unknown) => refusal(body)?.message.split(': keys here')[0]
    expect(where({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', Url: 'x' } }] }] })).toBe('Invalid body: messages.0.content.0.source.Url')
    expect(where({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', Format: 'mp3' } }] }] })).toBe('Invalid body: messages.0.content.0.input_audio.Format')
    expect(where({ system: [{ type: 'text', text: 'a', cache_control: { type: 'ephemeral', TTL: '1h' } }] })).toBe('Invalid body: system.0.cache_control.TTL')
    expect(where({ tools: [{ type: 'function', function: { name: 'f', Strict: true } }] })).toBe('Invalid body: tools.0.function.Strict')
    expect(where({ tools: [{ type: 'code_interpreter', container: { type: 'auto', Memory_Limit: '64g' } }] })).toBe('Invalid body: tools.0.container.Memory_Limit')
    expect(where({ input: [{ type: 'tool_search_output', tools: [{ type: 'function', name: 'f', Type: 'web_search' }] }] })).toBe('Invalid body: input.0.tools.0.Type')
    // One level down only: a function's schema keeps the client's keys.
    expect(refusal({ tools: [{ type: 'function', function: { name: 'f', parameters: { properties: { Name: {} } } } }] })).toBeNull()
  })

  test('the settings objects at the top level are checked too, and the objects read in them', () => {
    const where = (body: unknown) => refusal(body)?.message.split(': keys here')[0]
    expect(where({ thinking: { type: 'enabled', budget_tokens: 1024, Budget_tokens: 60000 } })).toBe('Invalid body: thinking.Budget_tokens')
    expect(where({ web_search_options: { search_context_size: 'low', user_location: { type: 'approximate', Approximate: {} } } })).toBe('Invalid body: web_search_options.user_location.Approximate')
    expect(where({ context_management: { edits: [{ type: 'clear_tool_uses_20250919', Type: 'compact_20260112' }] } })).toBe('Invalid body: context_management.edits.0.Type')
    expect(where({ audio: { voice: 'alloy', Format: 'wav' } })).toBe('Invalid body: audio.Format')
    // A structured output's schema keeps the client's keys.
    expect(refusal({ text: { format: { type: 'json_schema', name: 's', schema: { properties: { Name: {} } } } } })).toBeNull()
  })

  test('only objects as JSON parses them are walked: a form File under a checked name is a value', () => {
    const file = new File(['RIFF'], 'a.wav', { type: 'audio/wav' })
    expect(refusal({ model: 'm', file, audio: file, input: [file] })).toBeNull()
  })

  test('values that are not objects, and bodies that are not, pass', () => {
    expect(refusal({ model: 'm', input: 'a string', messages: 'not a list', tools: [null, 1, 'x'] })).toBeNull()
    expect(refusal([{ Model: 'x' }])).toBeNull()
    expect(refusal(null)).toBeNull()
  })
})

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

/** Every inference route the OpenAPI document gives a request body, as a client generated from it would find them. */
async function inferenceRoutesWithBodies(): Promise<string[]> {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Record<string, Record<string, { tags?: string[]; requestBody?: unknown }>> }
  return Object.entries(doc.paths)
    .filter(([, methods]) => methods.post?.tags?.includes('inference') && methods.post.requestBody !== undefined)
    .map(([path]) => path)
}

test('every inference route refuses a case variant of a field with 400 case_variant_key, before any hold or upstream call', async () => {
  const { secret } = await gw.userWithKey({ id: 'case-variant-routes', max_budget: 1 })
  upstream.answer(() => jsonResponse({}))
  const routes = await inferenceRoutesWithBodies()
  expect(routes).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/messages', '/v1/messages/count_tokens', '/v1/responses', '/v1/responses/input_tokens', '/v1/embeddings', '/v1/moderations', '/v1/audio/speech', '/v1/audio/transcriptions']))
  for (const path of routes) {
    const form = new FormData()
    form.append('model', 'plain:m')
    form.append('Model', 'other')
    form.append('file', new File(['RIFF'], 'a.wav', { type: 'audio/wav' }))
    const body = path === '/v1/audio/transcriptions' ? form : JSON.stringify({ model: 'plain:m', Model: 'other', input: 'hi', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
    const headers: Record<string, string> = { authorization: `Bearer ${secret}`, ...(typeof body === 'string' && { 'content-type': 'application/json' }) }
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers, body })
    const answer = (await res.json()) as { error: { code?: string; type: string; message: string } }
    expect({ path, status: res.status }).toEqual({ path, status: 400 })
    expect(answer.error.code ?? answer.error.type).toBe(path.startsWith('/v1/messages') ? 'invalid_request_error' : 'case_variant_key')
    expect(answer.error.message).toStartWith('Invalid body: Model: ')
  }
  expect(upstream.calls).toHaveLength(0)
  await gw.settled()
  expect((await gw.admin('GET', '/v1/users/case-variant-routes')).body).toMatchObject({ spend: 0, reserved: 0 })
})

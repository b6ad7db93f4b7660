import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { SseParser } from '../src/translate/sse'

/** The mock's Responses API, called directly: what the real-clients suite will drive Codex and the AI SDK against. */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ chunks: 3 })
})
afterAll(() => mock.stop())
beforeEach(() => mock.reset())

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${mock.url}${path}`, { method: 'POST', headers: { authorization: 'Bearer sk-x', 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

async function events(res: Response) {
  const parser = new SseParser()
  const all = [...parser.push(new Uint8Array(await res.arrayBuffer())), ...parser.end()]
  return all.map((e) => ({ name: e.event, data: JSON.parse(e.data) }))
}

describe('mock provider: /v1/responses', () => {
  test('a streamed answer: every event named as its type, numbered from 0 without gaps, in OpenAI\'s order', async () => {
    const list = await events(await post('/v1/responses', { model: 'm', input: 'hi', stream: true, reasoning: { effort: 'low' }, include: ['reasoning.encrypted_content'] }))
    for (const [i, e] of list.entries()) {
      expect(e.name).toBe(e.data.type)
      expect(e.data.sequence_number).toBe(i)
    }
    const types = list.map((e) => e.name)
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.reasoning_summary_part.added'])
    expect(types).toContain('response.output_text.delta')
    expect(types.at(-1)).toBe('response.completed')
    const final = list.at(-1)!.data.response
    expect(final.output.map((o: any) => o.type)).toEqual(['reasoning', 'message'])
    expect(final.output[0].encrypted_content).toMatch(/^gAAAAB/)
    expect(final.usage).toMatchObject({ output_tokens: 4 + 5, output_tokens_details: { reasoning_tokens: 4 } })
  })

  test('a function call, an incomplete answer, a failed one', async () => {
    const tools = [{ type: 'web_search' }, { type: 'function', name: 'get_weather', parameters: {} }]
    const call = await (await post('/v1/responses', { model: 'm', input: 'weather in Paris?', tools })).json() as any
    expect(call.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' })
    const cut = await events(await post('/v1/responses', { model: 'm', input: 'hi', stream: true, max_output_tokens: 2 }))
    expect(cut.at(-1)!.data).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { output_tokens: 2 } } })
    const failed = await events(await post('/v1/responses', { model: 'm', input: 'hi', stream: true }, { 'x-mock-behavior': 'response-failed' }))
    expect(failed.at(-1)!.data).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { code: 'server_error' } } })
    expect(failed.at(-1)!.data.response.usage.output_tokens).toBeGreaterThan(0)
  })

  test('stored responses: retrieve, input items, chaining, delete; store: false keeps nothing; counting', async () => {
    const r = await (await post('/v1/responses', { model: 'm', input: 'hi' })).json() as any
    expect((await (await fetch(`${mock.url}/v1/responses/${r.id}`, { headers: { authorization: 'Bearer x' } })).json() as any).id).toBe(r.id)
    const items = await (await fetch(`${mock.url}/v1/responses/${r.id}/input_items`, { headers: { authorization: 'Bearer x' } })).json() as any
    expect(items.data.length).toBe(1)
    const chained = await (await post('/v1/responses', { model: 'm', input: 'again', previous_response_id: r.id })).json() as any
    expect(chained.usage.input_tokens).toBeGreaterThan(r.usage.input_tokens + r.usage.output_tokens)
    expect((await post('/v1/responses', { model: 'm', input: 'x', previous_response_id: 'resp_nope' })).status).toBe(400)
    expect((await fetch(`${mock.url}/v1/responses/${r.id}`, { method: 'DELETE', headers: { authorization: 'Bearer x' } })).status).toBe(200)
    expect((await fetch(`${mock.url}/v1/responses/${r.id}`, { headers: { authorization: 'Bearer x' } })).status).toBe(404)
    const unstored = await (await post('/v1/responses', { model: 'm', input: 'hi', store: false })).json() as any
    expect((await fetch(`${mock.url}/v1/responses/${unstored.id}`, { headers: { authorization: 'Bearer x' } })).status).toBe(404)
    expect(await (await post('/v1/responses/input_tokens', { model: 'm', input: 'hi' })).json()).toEqual({ object: 'response.input_tokens', input_tokens: 1 + 3 })
  })
})

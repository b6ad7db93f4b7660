import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { billedRows, startClientSetup, type ClientSetup } from '../support/clients'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(30_000)

/** The official `openai` client's Responses API (`client.responses.*`) through the gateway. */
let setup: ClientSetup
let client: OpenAI

beforeAll(async () => {
  setup = await startClientSetup()
  client = new OpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret, maxRetries: 0 })
})
afterAll(() => setup?.stop())

const WEATHER = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
}

test('responses.create: a function call, then the answer to its output', async () => {
  let text = ''
  const rows = await billedRows(setup, async () => {
    const first = await client.responses.create({ model: 'mock:gpt-mock', input: 'What is the weather in Paris?', tools: [WEATHER] })
    const call = first.output.find((item) => item.type === 'function_call')
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' })
    const second = await client.responses.create({
      model: 'mock:gpt-mock',
      tools: [WEATHER],
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        call!,
        { type: 'function_call_output', call_id: (call as { call_id: string }).call_id, output: 'sunny' },
      ],
    })
    text = second.output_text
  })
  expect(text).toBe('Hello from the mock provider.')
  expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([
    ['/v1/responses', 'mock:gpt-mock', 0],
    ['/v1/responses', 'mock:gpt-mock', 0],
  ])
})

test('responses.stream: text deltas and the final response', async () => {
  let text = ''
  let usage: OpenAI.Responses.ResponseUsage | undefined
  const rows = await billedRows(setup, async () => {
    const stream = client.responses.stream({ model: 'mock:gpt-mock', input: 'Say hello.' })
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta
    usage = (await stream.finalResponse()).usage
  })
  expect(text).toBe('Hello from the mock provider.')
  expect(rows).toHaveLength(1)
  expect(rows[0]).toMatchObject({ endpoint: '/v1/responses', model: 'mock:gpt-mock', stream: 1 })
  expect([rows[0]!.prompt_tokens, rows[0]!.completion_tokens]).toEqual([usage!.input_tokens, usage!.output_tokens])
})

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let client: OpenAI

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { aliases: { fast: 'mock:gpt-mock' } } })
  const { secret } = await gw.userWithKey({ id: 'team-chat', max_budget: 10 })
  client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

describe('chat completions through the official openai client', () => {
  test('a JSON completion is relayed, priced and settled', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse()
    expect(data.choices[0]!.message.content).toBe('Hello from the mock provider.')
    expect(data.usage?.completion_tokens).toBe(5)
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(Number(response.headers.get('x-budget-remaining'))).toBeLessThan(10)

    // The provider got our credential, not the client's, and the upstream model id.
    const call = mock.calls.at(-1)!
    expect(call.headers.authorization).toBe('Bearer sk-upstream-secret-0123456789')
    expect((call.body as any).model).toBe('gpt-mock')

    const user = await gw.admin('GET', '/v1/users/team-chat')
    const usage = data.usage!
    // $1/M input, $2/M output, rounded up to the micro-USD.
    const expected = Math.ceil(usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1e6
    expect(user.body.spend).toBeCloseTo(expected, 9)
    expect(user.body.reserved).toBe(0)
  })

  test('a stream is relayed chunk by chunk; usage is asked upstream but passed on only when the client asked', async () => {
    const stream = await client.chat.completions.create({ model: 'fast', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    let text = ''
    let sawUsage = false
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      if (chunk.usage) sawUsage = true
    }
    expect(text).toBe('Hello from the mock provider.')
    expect(sawUsage).toBe(false)
    expect((mock.calls.at(-1)!.body as any).stream_options).toEqual({ include_usage: true })

    const withUsage = await client.chat.completions.create({
      model: 'fast', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }],
    })
    let usage: OpenAI.CompletionUsage | undefined
    for await (const chunk of withUsage) if (chunk.usage) usage = chunk.usage
    expect(usage?.completion_tokens).toBe(5)

    await gw.settled()
    const rows = gw.query<{ status: string; stream: number; completion_tokens: number }>(
      "SELECT status, stream, completion_tokens FROM usage WHERE endpoint = '/v1/chat/completions' AND stream = 1",
    )
    expect(rows.length).toBe(2)
    for (const r of rows) expect(r).toEqual({ status: 'ok', stream: 1, completion_tokens: 5 })
  })
})

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { createAnthropic } from '@ai-sdk/anthropic'
import { createOpenAI } from '@ai-sdk/openai'
import { generateText, stepCountIs, streamText, tool, type LanguageModel } from 'ai'
import { z } from 'zod'
import { billedRows, startClientSetup, type ClientSetup } from '../support/clients'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(30_000)

/**
 * The Vercel AI SDK's providers as the README's client guide configures them (`baseURL` = the gateway's
 * `/v1`, the virtual key as `apiKey`), each with a tool the SDK runs between two model calls.
 */
// The SDK warns that it does not know the gateway's model names (it then asks max_tokens 128000); expected here.
Object.assign(globalThis, { AI_SDK_LOG_WARNINGS: false })

let setup: ClientSetup

beforeAll(async () => {
  setup = await startClientSetup()
})
afterAll(() => setup?.stop())

const weatherTool = () => {
  const asked: string[] = []
  const getWeather = tool({
    description: 'Current weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      asked.push(city)
      return { city, forecast: 'sunny' }
    },
  })
  return { asked, tools: { get_weather: getWeather } }
}

/** generateText and streamText, each a tool call then a final answer: two billed model calls. */
function toolRoundTrips(model: () => LanguageModel, endpoint: string, modelName: string) {
  test('generateText with a tool', async () => {
    const { asked, tools } = weatherTool()
    let text = ''
    const rows = await billedRows(setup, async () => {
      const result = await generateText({ model: model(), tools, stopWhen: stepCountIs(3), maxRetries: 0, prompt: 'What is the weather in Paris?' })
      text = result.text
    })
    expect(asked).toEqual(['Paris'])
    expect(text).toBe('Hello from the mock provider.')
    expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([[endpoint, modelName, 0], [endpoint, modelName, 0]])
  })

  test('streamText with a tool', async () => {
    const { asked, tools } = weatherTool()
    let text = ''
    const rows = await billedRows(setup, async () => {
      const result = streamText({ model: model(), tools, stopWhen: stepCountIs(3), maxRetries: 0, prompt: 'What is the weather in Paris?' })
      for await (const delta of result.textStream) text += delta
    })
    expect(asked).toEqual(['Paris'])
    expect(text).toBe('Hello from the mock provider.')
    expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([[endpoint, modelName, 1], [endpoint, modelName, 1]])
  })
}

describe("anthropic('…') (Messages API)", () => {
  const anthropic = () => createAnthropic({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret })
  toolRoundTrips(() => anthropic()('mockant:claude-mock'), '/v1/messages', 'mockant:claude-mock')
})

describe("openai('…') (Responses API, the provider's default)", () => {
  const openai = () => createOpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret })
  toolRoundTrips(() => openai()('mock:gpt-mock'), '/v1/responses', 'mock:gpt-mock')

  // The SDK leaves `store` unset, so responses are stored, and sends their earlier output back as item
  // references: the gateway sizes each from the response it recorded.
  test('a second turn with the first turn\'s messages: sent back as item references, served and billed', async () => {
    let second = ''
    const rows = await billedRows(setup, async () => {
      const first = await generateText({ model: openai()('mock:gpt-mock'), maxRetries: 0, prompt: 'Say hello.' })
      const result = await generateText({
        model: openai()('mock:gpt-mock'),
        maxRetries: 0,
        messages: [{ role: 'user', content: 'Say hello.' }, ...first.response.messages, { role: 'user', content: 'Again, please.' }],
      })
      second = result.text
    })
    expect(second).toBe('Hello from the mock provider.')
    expect(rows).toHaveLength(2)
    const sent = setup.mock.calls.filter((c) => c.path === '/v1/responses').at(-1)!.body as { input: Array<{ type?: string }> }
    expect(sent.input.some((item) => item.type === 'item_reference')).toBe(true)
  })

  test('generateText with a tool on a reasoning model: its reasoning item goes back by reference', async () => {
    const { asked, tools } = weatherTool()
    let text = ''
    const rows = await billedRows(setup, async () => {
      const result = await generateText({
        model: openai()('mock:gpt-mock'), tools, stopWhen: stepCountIs(3), maxRetries: 0,
        providerOptions: { openai: { forceReasoning: true, reasoningEffort: 'low' } },
        prompt: 'What is the weather in Paris?',
      })
      text = result.text
    })
    expect(asked).toEqual(['Paris'])
    expect(text).toBe('Hello from the mock provider.')
    expect(rows).toHaveLength(2)
  })
})

test("anthropic('…') on a $1 budget: the SDK's max_tokens 128000 ($1.92 worst case) is clamped for a key with clamp_output", async () => {
  const small = await startClientSetup({ budgetUsd: 1, key: { clamp_output: true } })
  try {
    const anthropic = createAnthropic({ baseURL: `${small.gw.url}/v1`, apiKey: small.secret })
    let text = ''
    const rows = await billedRows(small, async () => {
      text = (await generateText({ model: anthropic('mockant:claude-mock'), maxRetries: 0, prompt: 'Say hello.' })).text
    })
    expect(text).toBe('Hello from the mock provider.')
    expect(rows).toHaveLength(1)
    const sent = small.mock.calls.find((c) => c.path === '/v1/messages')!.body as { max_tokens: number }
    expect(sent.max_tokens).toBeLessThan(128000)
  } finally {
    await small.stop()
  }
})

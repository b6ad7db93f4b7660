import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { Agent, OpenAIProvider, Runner, tool } from '@openai/agents'
import { z } from 'zod'
import { billedRows, startClientSetup, type ClientSetup } from '../support/clients'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(30_000)

/**
 * The OpenAI Agents SDK's default model (the Responses API), pointed at the gateway as the README's client
 * guide says, runs an agent whose tool the SDK calls between two model turns.
 */
let setup: ClientSetup

beforeAll(async () => {
  setup = await startClientSetup()
})
afterAll(() => setup?.stop())

function forecaster() {
  const asked: string[] = []
  const getWeather = tool({
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      asked.push(city)
      return `sunny in ${city}`
    },
  })
  const agent = new Agent({ name: 'forecaster', instructions: 'Answer with the forecast.', model: 'mock:gpt-mock', tools: [getWeather] })
  // Tracing is off: it would export every run to the vendor.
  const runner = new Runner({
    modelProvider: new OpenAIProvider({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret }),
    tracingDisabled: true,
  })
  return { asked, agent, runner }
}

test('an agent run with a tool: two Responses calls, both billed', async () => {
  const { asked, agent, runner } = forecaster()
  let output: unknown
  const rows = await billedRows(setup, async () => {
    output = (await runner.run(agent, 'What is the weather in Paris?')).finalOutput
  })

  expect(asked).toEqual(['Paris'])
  expect(output).toBe('Hello from the mock provider.')
  expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([
    ['/v1/responses', 'mock:gpt-mock', 0],
    ['/v1/responses', 'mock:gpt-mock', 0],
  ])
})

test('a streamed agent run with a tool: two streamed Responses calls, both billed', async () => {
  const { asked, agent, runner } = forecaster()
  let output: unknown
  const rows = await billedRows(setup, async () => {
    const run = await runner.run(agent, 'What is the weather in Paris?', { stream: true })
    await run.completed
    output = run.finalOutput
  })

  expect(asked).toEqual(['Paris'])
  expect(output).toBe('Hello from the mock provider.')
  expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([
    ['/v1/responses', 'mock:gpt-mock', 1],
    ['/v1/responses', 'mock:gpt-mock', 1],
  ])
})

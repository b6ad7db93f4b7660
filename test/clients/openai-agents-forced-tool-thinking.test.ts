import { expect, test } from 'bun:test'
import { Agent, OpenAIProvider, Runner, tool } from '@openai/agents'
import { z } from 'zod'
import { startClientSetup } from '../support/clients'

/**
 * The OpenAI Agents SDK with `modelSettings: {toolChoice: 'required', reasoning: {effort: 'high'}}` (valid on
 * OpenAI's reasoning models) on a Claude model: the gateway translates the Responses request to Messages as
 * `thinking: {type: "enabled", budget_tokens: …}` together with `tool_choice: {type: "any"}`. Anthropic refuses
 * that pair with 400 "Thinking may not be enabled when tool_choice forces tool use." (extended thinking allows
 * only tool_choice auto or none), so the agent run fails at its first turn. SPEC §3: a model may be served by a
 * provider of the other wire format, the gateway translating requests; the translation must be one the
 * provider accepts (drop the thinking when a tool is forced, as it is dropped when it does not fit).
 */
function anthropicRefusal(body: any): string | null {
  const thinkingOn = body?.thinking?.type === 'enabled' || body?.thinking?.type === 'adaptive'
  const forced = body?.tool_choice?.type === 'any' || body?.tool_choice?.type === 'tool'
  return thinkingOn && forced ? 'Thinking may not be enabled when tool_choice forces tool use.' : null
}

test("an agent with toolChoice 'required' and a reasoning effort, on a Claude model: a body Anthropic accepts", async () => {
  const setup = await startClientSetup()
  try {
    const getWeather = tool({
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => `sunny in ${city}`,
    })
    const agent = new Agent({
      name: 'forecaster',
      instructions: 'Answer with the forecast.',
      model: 'mockant:claude-mock',
      tools: [getWeather],
      modelSettings: { toolChoice: 'required', reasoning: { effort: 'high' } },
      toolUseBehavior: 'stop_on_first_tool',
    })
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret }), tracingDisabled: true })
    const result = await runner.run(agent, 'What is the weather in Paris?')
    expect(result.finalOutput).toBe('sunny in Paris')
    const sent = setup.mock.calls.filter((c) => c.path === '/v1/messages').map((c) => c.body as any)
    expect(sent).toHaveLength(1)
    expect(sent[0].tool_choice).toEqual({ type: 'any' })
    expect(anthropicRefusal(sent[0])).toBeNull()
  } finally {
    await setup.stop()
  }
}, 30_000)

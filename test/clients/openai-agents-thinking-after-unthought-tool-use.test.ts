import { expect, setDefaultTimeout, test } from 'bun:test'
import { Agent, OpenAIProvider, Runner, tool } from '@openai/agents'
import { z } from 'zod'
import { startTestGateway } from '../support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream } from '../support/scripted-upstream'

setDefaultTimeout(60_000)

/**
 * Anthropic's rule for extended thinking in a tool loop: with `thinking` on, the assistant turn whose tool_use the
 * request's last tool_result answers must start with a thinking block, else 400 ("When `thinking` is enabled, a
 * final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and
 * `tool_result` blocks) … To avoid this requirement, disable `thinking`.").
 */
function anthropicRefusal(body: any): string | null {
  if (body.thinking?.type !== 'enabled' && body.thinking?.type !== 'adaptive') return null
  const msgs = body.messages as any[]
  const last = msgs.at(-1)
  const answered = Array.isArray(last?.content) && last.content.some((b: any) => b.type === 'tool_result')
  const turn = msgs.at(-2)
  if (answered && turn?.role === 'assistant' && turn.content[0]?.type !== 'thinking' && turn.content[0]?.type !== 'redacted_thinking')
    return `messages.${msgs.length - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${turn.content[0]?.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block`
  return null
}

/**
 * The Agents SDK with `toolChoice: 'required'` and a reasoning effort on a Claude model (/v1/responses →
 * Anthropic). The gateway sends the first turn without thinking, since Anthropic refuses thinking beside a forced
 * tool; the SDK then resets tool_choice to auto (its default `resetToolChoice`), and the second turn went with
 * thinking on, after an assistant turn that has none (the gateway's own doing): Anthropic refused it (400) and
 * the run failed. The same happened after a handoff from an agent without reasoning to one with it
 * (test/responses-thinking-tool-loop.test.ts).
 */
test("an agent with toolChoice 'required' and a reasoning effort completes its tool loop on a Claude model", async () => {
  const upstream = startScriptedUpstream()
  const { ant } = scriptedProviders(upstream)
  const gw = await startTestGateway({ config: { providers: { ant }, pricing: { 'ant:claude-sonnet-4-5': { input_per_million: 1, output_per_million: 2 } } } })
  const { secret } = await gw.userWithKey({ id: 'u1', max_budget: 10 })
  let n = 0
  upstream.answer((call) => {
    const refusal = anthropicRefusal(call.body)
    if (refusal) return jsonResponse({ type: 'error', error: { type: 'invalid_request_error', message: refusal } }, 400)
    n++
    const thinking = call.body.thinking ? [{ type: 'thinking', thinking: 'Let me answer.', signature: `sig${n}` }] : []
    const answered = JSON.stringify(call.body.messages).includes('tool_result')
    const content = answered
      ? [...thinking, { type: 'text', text: 'It is sunny in Paris.' }]
      : [...thinking, { type: 'tool_use', id: `toolu_0${n}`, name: 'get_weather', input: { city: 'Paris' } }]
    return jsonResponse({ id: `msg_0${n}`, type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content, stop_reason: answered ? 'end_turn' : 'tool_use', stop_sequence: null, usage: { input_tokens: 100, output_tokens: 20 } })
  })
  try {
    const getWeather = tool({ name: 'get_weather', description: 'Current weather for a city', parameters: z.object({ city: z.string() }), execute: async ({ city }) => `sunny in ${city}` })
    const agent = new Agent({
      name: 'forecaster',
      instructions: 'Answer with the forecast.',
      model: 'ant:claude-sonnet-4-5',
      tools: [getWeather],
      modelSettings: { toolChoice: 'required', reasoning: { effort: 'high' } },
    })
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: `${gw.url}/v1`, apiKey: secret }), tracingDisabled: true })
    const refusals: string[] = []
    let output: unknown
    try {
      output = (await runner.run(agent, 'What is the weather in Paris?')).finalOutput
    } catch (e) {
      refusals.push(String(e))
    }
    expect(upstream.calls.map((c) => anthropicRefusal(c.body)).filter(Boolean)).toEqual([])
    expect(refusals).toEqual([])
    expect(output).toBe('It is sunny in Paris.')
  } finally {
    await gw.stop()
    await upstream.stop()
  }
})

import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { createOpenAI } from '@ai-sdk/openai'
import { stepCountIs, streamText, tool } from 'ai'
import { z } from 'zod'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { anthropicEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from '../support/scripted-upstream'

setDefaultTimeout(60_000)
Object.assign(globalThis, { AI_SDK_LOG_WARNINGS: false })

/**
 * The AI SDK with a tool on a Claude model behind an Anthropic provider, as README's AI SDK section advises (red team
 * jv). Claude says a sentence before its tool call, as it usually does; the SDK runs the tool and sends step 1 back.
 * `openai('…')` (Responses API) with `store` unset (the SDK's default: true) sends that text back as an
 * `item_reference` to the id the gateway's translated stream gave it, which a translated target cannot resolve (it
 * keeps no stored state): 400 stored_state_unsupported, as README says. With `store: false`, or `openai.chat`, the
 * same agent loop runs to its answer.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 }, 'plain:m': { input_per_million: 1, output_per_million: 2 } } },
  })
  ;({ secret } = await gw.userWithKey({ id: 'aisdk', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const weather = () => {
  const asked: string[] = []
  return {
    asked,
    tools: {
      get_weather: tool({
        description: 'Current weather for a city',
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          asked.push(city)
          return { city, forecast: 'sunny' }
        },
      }),
    },
  }
}

function claudeScript() {
  upstream.answer((call) => {
    const n = upstream.calls.length
    const message = { id: `msg_${n}`, type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 50, output_tokens: 1 } }
    const answered = JSON.stringify(call.body.messages).includes('tool_result')
    const ev = [anthropicEvent({ type: 'message_start', message })]
    ev.push(
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: answered ? 'It is sunny in Paris.' : 'Let me check the weather.' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
    )
    if (!answered)
      ev.push(
        anthropicEvent({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }),
        anthropicEvent({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } }),
        anthropicEvent({ type: 'content_block_stop', index: 1 }),
      )
    ev.push(
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: answered ? 'end_turn' : 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } }),
      anthropicEvent({ type: 'message_stop' }),
    )
    return sseResponse(ev)
  })
}

async function run(model: (openai: ReturnType<typeof createOpenAI>) => Parameters<typeof streamText>[0]['model'], providerOptions?: Record<string, any>) {
  claudeScript()
  upstream.calls.length = 0
  const { asked, tools } = weather()
  const openai = createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret })
  const errors: unknown[] = []
  const result = streamText({
    model: model(openai), tools, stopWhen: stepCountIs(3), maxRetries: 0, prompt: 'What is the weather in Paris?', providerOptions,
    onError: ({ error }) => { errors.push(error) },
  })
  const text = await Promise.resolve(result.text).catch(() => '')
  return { asked, text, calls: upstream.calls.length, errors: errors.map((e: any) => String(e?.responseBody ?? e)) }
}

test("openai('ant:m') with store left on: step 2's item_reference is refused 400 stored_state_unsupported, as README says", async () => {
  const run1 = await run((openai) => openai('ant:m'))
  expect(run1.asked).toEqual(['Paris'])
  expect(run1.calls).toBe(1)
  expect(run1.errors).toHaveLength(1)
  expect(run1.errors[0]).toContain('stored_state_unsupported')
})

test("openai('ant:m') with providerOptions.openai.store false: the agent loop runs to its answer", async () => {
  const run2 = await run((openai) => openai('ant:m'), { openai: { store: false } })
  expect(run2).toEqual({ asked: ['Paris'], text: expect.stringContaining('It is sunny in Paris.'), calls: 2, errors: [] })
})

test("openai.chat('ant:m'): the agent loop runs to its answer", async () => {
  const run3 = await run((openai) => openai.chat('ant:m'))
  expect(run3).toEqual({ asked: ['Paris'], text: expect.stringContaining('It is sunny in Paris.'), calls: 2, errors: [] })
})

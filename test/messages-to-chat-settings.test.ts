import { expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { jsonResponse, scriptedProviders, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * Mutation guard: /v1/messages translated to an OpenAI-compatible provider
 * (src/translate/messages-request-to-chat.ts). The settings that change what the provider does must reach it, as
 * the README's "Translated to an OpenAI-compatible provider" says: `temperature`, a forced tool (`tool_choice`
 * `any` → `required`), and an enabled thinking budget as `reasoning_effort` (< 4096 low, < 16384 medium, else
 * high) on a provider configured with `reasoning_effort: true`; `disable_parallel_tool_use` as `parallel_tool_calls:
 * false`. And the stop reasons come back as the README's "Translation covers … stop reasons" says: a chat
 * `content_filter` is Anthropic's `refusal`. No suite checked any of these end to end.
 */
setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let gw: TestGateway
let anthropic: Anthropic

withScriptedGateway(
  (u) => {
    const providers = scriptedProviders(u)
    return {
      providers: { ...providers, effort: { ...providers.plain, reasoning_effort: true } },
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'effort:m': { input_per_million: 1, output_per_million: 2 } },
    }
  },
  (s) => ({ upstream, gw } = s),
)

const completion = () =>
  jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
  })

const sentBody = () => upstream.calls.findLast((c) => c.path.endsWith('/chat/completions'))?.body

test('setup: a key', async () => {
  const { secret } = await gw.userWithKey({ id: 'm2c', max_budget: 10 })
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
})

test('temperature reaches the OpenAI-compatible provider', async () => {
  upstream.answer(completion)
  // Sent as the SDK's older types and other clients send it (this SDK version's types leave `temperature` out).
  await anthropic.messages.create({ model: 'plain:m', max_tokens: 50, temperature: 0.2, messages: [{ role: 'user', content: 'hi' }] } as Anthropic.MessageCreateParamsNonStreaming)
  expect(sentBody()?.temperature).toBe(0.2)
})

test("tool_choice any (the SDK's forced tool use) is chat's required", async () => {
  upstream.answer(completion)
  await anthropic.messages.create({
    model: 'plain:m',
    max_tokens: 50,
    tools: [{ name: 'get_time', input_schema: { type: 'object', properties: {} } }],
    tool_choice: { type: 'any' },
    messages: [{ role: 'user', content: 'time?' }],
  })
  expect(sentBody()?.tool_choice).toBe('required')
})

test('an enabled thinking budget maps to reasoning_effort by its size (README: < 4096 low, < 16384 medium, else high)', async () => {
  upstream.answer(completion)
  const efforts: unknown[] = []
  for (const budget_tokens of [2000, 8000, 20_000]) {
    await anthropic.messages.create({
      model: 'effort:m',
      max_tokens: 21_000,
      thinking: { type: 'enabled', budget_tokens },
      messages: [{ role: 'user', content: 'think' }],
    })
    efforts.push(sentBody()?.reasoning_effort)
  }
  expect(efforts).toEqual(['low', 'medium', 'high'])
})

test('disable_parallel_tool_use goes as parallel_tool_calls: false', async () => {
  upstream.answer(completion)
  await anthropic.messages.create({
    model: 'plain:m',
    max_tokens: 50,
    tools: [{ name: 'get_time', input_schema: { type: 'object', properties: {} } }],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    messages: [{ role: 'user', content: 'time?' }],
  })
  expect(sentBody()?.parallel_tool_calls).toBe(false)
})

test("a chat answer stopped by the provider's content filter is an Anthropic refusal", async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'c2', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }],
      usage: { prompt_tokens: 10, completion_tokens: 0, total_tokens: 10 },
    }),
  )
  const message = await anthropic.messages.create({ model: 'plain:m', max_tokens: 50, messages: [{ role: 'user', content: 'something filtered' }] })
  expect(message.stop_reason).toBe('refusal')
})

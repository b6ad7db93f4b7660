import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { Agent, OpenAIChatCompletionsModel, Runner } from '@openai/agents'
import { createOpenAI } from '@ai-sdk/openai'
import { generateText } from 'ai'
import { billedRows, startClientSetup, type ClientSetup } from './support/clients'

setDefaultTimeout(30_000)
Object.assign(globalThis, { AI_SDK_LOG_WARNINGS: false })

/**
 * README "Chat completions to an Anthropic provider": `reasoning_effort` is Anthropic's thinking, mapped as the
 * Responses API maps `reasoning.effort` (one mapping, the same forced-tool and tool-loop rules); `"none"` asks for
 * nothing. Real clients send it on chat: @openai/agents' `OpenAIChatCompletionsModel` with
 * `modelSettings.reasoning.effort`, and the AI SDK's `openai.chat(model)` with `providerOptions.openai.reasoningEffort`.
 * Thinking is output within the max the hold covers.
 */
let setup: ClientSetup
beforeAll(async () => {
  setup = await startClientSetup()
})
afterAll(() => setup?.stop())

const lastMessagesCall = () => setup.mock.calls.filter((c) => c.path === '/v1/messages').at(-1)?.body as Record<string, any> | undefined

test('Responses → Claude: reasoning.effort "low" is served as thinking (control)', async () => {
  setup.mock.reset()
  const client = new OpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret, maxRetries: 0 })
  const res = await client.responses.create({ model: 'mockant:claude-mock', input: 'hi', reasoning: { effort: 'low' } })
  expect(res.status).toBe('completed')
  expect(lastMessagesCall()?.thinking).toBeDefined()
})

test('Agents SDK chat-completions model on Claude with modelSettings.reasoning.effort: served, thinking sent, billed', async () => {
  setup.mock.reset()
  const model = new OpenAIChatCompletionsModel(new OpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret, maxRetries: 0 }), 'mockant:claude-mock')
  const agent = new Agent({ name: 'a', instructions: 'Be brief.', model, modelSettings: { reasoning: { effort: 'low' }, maxTokens: 8000 } })
  const rows = await billedRows(setup, async () => {
    const output = (await new Runner({ tracingDisabled: true }).run(agent, 'Say hello.')).finalOutput
    expect(output).toBe('Hello from the mock provider.')
  })
  expect(rows.map((r) => [r.endpoint, r.model])).toEqual([['/v1/chat/completions', 'mockant:claude-mock']])
  expect(lastMessagesCall()?.thinking).toBeDefined()
})

test("AI SDK openai.chat('claude…') with providerOptions.openai.reasoningEffort: served", async () => {
  setup.mock.reset()
  const openai = createOpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret })
  const result = await generateText({
    model: openai.chat('mockant:claude-mock'),
    maxOutputTokens: 8000,
    maxRetries: 0,
    providerOptions: { openai: { reasoningEffort: 'low' } },
    prompt: 'Say hello.',
  })
  expect(result.text).toBe('Hello from the mock provider.')
  expect(lastMessagesCall()?.thinking).toBeDefined()
})

test('reasoning_effort "none" towards Claude asks for nothing: served without thinking, not refused', async () => {
  setup.mock.reset()
  const res = await fetch(`${setup.gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${setup.secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mockant:claude-mock', reasoning_effort: 'none', messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await res.text()
  expect({ status: res.status, body: text.slice(0, 200) }).toMatchObject({ status: 200 })
  expect(lastMessagesCall()?.thinking).toBeUndefined()
})

test('a chat stream with reasoning_effort: Claude thinks, the chunks carry only the answer', async () => {
  setup.mock.reset()
  const client = new OpenAI({ baseURL: `${setup.gw.url}/v1`, apiKey: setup.secret, maxRetries: 0 })
  const stream = await client.chat.completions.create({ model: 'mockant:claude-mock', reasoning_effort: 'medium', stream: true, messages: [{ role: 'user', content: 'hi' }] })
  let text = ''
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
  expect(text).toBe('Hello from the mock provider.')
  expect(lastMessagesCall()?.thinking).toBeDefined()
})

import { describe, expect, test } from 'bun:test'
import { chatRequestToMessages } from '../src/translate/chat-request-to-messages'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'
import { carryThinking } from '../src/translate/responses/reasoning-carrier'

/**
 * A conversation that ends with an assistant message goes to Anthropic as a prefill, and Anthropic refuses thinking
 * there unless that message starts with a thinking block (400 "When `thinking` is enabled, a final `assistant`
 * message must start with a thinking block"). A chat `reasoning_effort` or Responses `reasoning.effort` sent with a
 * prefill was translated to thinking all the same, and the provider refused the request. The prefill now goes without
 * thinking (and its effort), as a forced tool does; a conversation that ends on the user's side still thinks.
 */
const options = (upstreamModel: string) => ({ defaultMaxOutputTokens: 4096, upstreamModel })

describe('chat → Anthropic', () => {
  const translated = (messages: unknown[], upstreamModel = 'claude-sonnet-4-5-20250929') =>
    chatRequestToMessages({ messages, reasoning_effort: 'high', max_completion_tokens: 30_000, temperature: 0.3 }, options(upstreamModel))

  for (const model of ['claude-sonnet-4-5-20250929', 'claude-opus-4-7'])
    test(`a final assistant message (a prefill), ${model}: no thinking, no effort; sampling settings go`, () => {
      const request = translated([{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'The colour is' }], model)
      expect(request.messages.at(-1)).toMatchObject({ role: 'assistant' })
      expect(request.thinking).toBeUndefined()
      expect(request.output_config).toBeUndefined()
      expect(request.temperature).toBe(0.3)
      expect(request.max_tokens).toBe(30_000)
    })

  test('a conversation that ends on the user\'s side: thinking stays (control)', () => {
    const request = translated([{ role: 'user', content: 'Name a colour.' }, { role: 'assistant', content: 'Red.' }, { role: 'user', content: 'Another?' }])
    expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
  })
})

describe('Responses → Anthropic', () => {
  const translated = (input: unknown, upstreamModel = 'claude-sonnet-4-5-20250929') =>
    responsesRequestToMessages({ input, reasoning: { effort: 'high' }, max_output_tokens: 30_000, temperature: 0.3 }, { ...options(upstreamModel), webSearch: false }).request

  for (const model of ['claude-sonnet-4-5-20250929', 'claude-opus-4-7'])
    test(`a final assistant message (a prefill), ${model}: no thinking, no effort; sampling settings go`, () => {
      const request = translated([
        { type: 'message', role: 'user', content: 'Name a colour.' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'The colour is' }] },
      ], model)
      expect(request.messages.at(-1)).toMatchObject({ role: 'assistant' })
      expect(request.thinking).toBeUndefined()
      expect(request.output_config).toBeUndefined()
      expect(request.temperature).toBe(0.3)
      expect(request.max_tokens).toBe(30_000)
    })

  test('a conversation that ends on the user\'s side: thinking stays (control)', () => {
    expect(translated('Name a colour.').thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
  })
})

test('Responses → Anthropic: a prefill that starts with Claude\'s thinking (carried back in a reasoning item) keeps thinking', () => {
  const thinking = { type: 'thinking', thinking: 'A colour, then.', signature: 'sig' }
  const request = responsesRequestToMessages(
    {
      input: [
        { type: 'message', role: 'user', content: 'Name a colour.' },
        { type: 'reasoning', summary: [], encrypted_content: carryThinking(thinking) },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'The colour is' }] },
      ],
      reasoning: { effort: 'high' },
      max_output_tokens: 30_000,
    },
    { ...options('claude-sonnet-4-5-20250929'), webSearch: false },
  ).request
  expect(request.messages.at(-1).content[0]).toEqual(thinking)
  expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
})

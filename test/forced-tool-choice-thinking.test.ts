import { describe, expect, test } from 'bun:test'
import { chatRequestToMessages } from '../src/translate/chat-request-to-messages'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'

/**
 * Anthropic refuses thinking with a tool_choice that forces a tool (400 "Thinking may not be enabled when
 * tool_choice forces tool use."): extended thinking allows only `auto` and `none`. A translated request that
 * forces a tool goes without thinking (and its effort), as when the budget does not fit; chat's `reasoning_effort`
 * and Responses' `reasoning.effort` follow one rule.
 */
const WEATHER = { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }
const forcesTool = (choice: { type?: string } | undefined) => choice?.type === 'any' || choice?.type === 'tool'

describe('Responses → Anthropic', () => {
  const translated = (body: Record<string, unknown>, upstreamModel = 'claude-sonnet-4-5-20250929') =>
    responsesRequestToMessages({ input: 'weather in Paris?', tools: [WEATHER], reasoning: { effort: 'high' }, max_output_tokens: 30_000, ...body }, { defaultMaxOutputTokens: 4096, upstreamModel, webSearch: true }).request

  for (const [name, tool_choice, model] of [
    ['required, budget thinking', 'required', undefined],
    ['a named function, budget thinking', { type: 'function', name: 'get_weather' }, undefined],
    ['required, adaptive thinking', 'required', 'claude-opus-4-7'],
    ['web search, with its server tool', { type: 'web_search' }, undefined],
  ] as const)
    test(`a forced tool (${name}): no thinking, no effort; sampling settings go`, () => {
      const tools = typeof tool_choice === 'object' && tool_choice.type === 'web_search' ? [WEATHER, { type: 'web_search' }] : [WEATHER]
      const request = translated({ tool_choice, tools, temperature: 0.3 }, model)
      expect(forcesTool(request.tool_choice)).toBe(true)
      expect(request.thinking).toBeUndefined()
      expect(request.output_config).toBeUndefined()
      expect(request.temperature).toBe(0.3)
      expect(request.max_tokens).toBe(30_000)
    })

  test('auto or none: thinking stays', () => {
    for (const tool_choice of ['auto', 'none', undefined]) {
      const request = translated({ tool_choice })
      expect(forcesTool(request.tool_choice)).toBe(false)
      expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
    }
  })
})

describe('chat → Anthropic', () => {
  const WEATHER_CHAT = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }
  const translated = (body: Record<string, unknown>, upstreamModel = 'claude-sonnet-4-5-20250929') =>
    chatRequestToMessages(
      { messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [WEATHER_CHAT], reasoning_effort: 'high', max_completion_tokens: 30_000, ...body },
      { defaultMaxOutputTokens: 4096, upstreamModel },
    )

  for (const [name, tool_choice, model] of [
    ['required, budget thinking', 'required', undefined],
    ['a named function, budget thinking', { type: 'function', function: { name: 'get_weather' } }, undefined],
    ['required, adaptive thinking', 'required', 'claude-opus-4-7'],
  ] as const)
    test(`a forced tool (${name}): no thinking, no effort; sampling settings go`, () => {
      const request = translated({ tool_choice, temperature: 0.3 }, model)
      expect(forcesTool(request.tool_choice)).toBe(true)
      expect(request.thinking).toBeUndefined()
      expect(request.output_config).toBeUndefined()
      expect(request.temperature).toBe(0.3)
      expect(request.max_tokens).toBe(30_000)
    })

  test('auto or none: thinking stays, as on Responses', () => {
    for (const tool_choice of ['auto', 'none', undefined]) {
      const request = translated({ tool_choice, temperature: 0.3 })
      expect(forcesTool(request.tool_choice)).toBe(false)
      expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
      expect(request.temperature).toBeUndefined()
    }
  })

  test('adaptive thinking at an effort on Claude 4.6 and later; "none" or no effort: no thinking', () => {
    expect(translated({}, 'claude-opus-4-7')).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'high' }, max_tokens: 30_000 })
    for (const reasoning_effort of ['none', undefined]) {
      const request = translated({ reasoning_effort })
      expect(request.thinking).toBeUndefined()
      expect(request.output_config).toBeUndefined()
    }
  })

  test('a tool loop (chat carries no thinking back): the next step goes without thinking', () => {
    const request = translated({
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    })
    expect(request.thinking).toBeUndefined()
    expect(request.max_tokens).toBe(30_000)
  })
})

/**
 * A system or developer message said in the middle of a conversation, sent to an Anthropic provider: Anthropic
 * takes instructions only in the top-level `system` (a `system` message inside `messages` is Claude Opus 4.8's
 * alone, on Anthropic's own API), so the leading ones go there as before, and a later one stays where it was
 * said, as an `<instructions>` text block in the user turn at that point, instead of being moved to the start of
 * the conversation, where it would rule the turns before it too (and change the prompt cache's prefix on every
 * request that adds one). A turn's tool results stay first in it, as Anthropic requires. Chat and Responses alike.
 */
import { describe, expect, test } from 'bun:test'
import { chatRequestToMessages } from '../src/translate/chat-request-to-messages'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'
import { startTestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream } from './support/scripted-upstream'

const o = { defaultMaxOutputTokens: 1000 }
const text = (t: string) => ({ type: 'text', text: t })
const instructions = (t: string) => text(`<instructions>\n${t}\n</instructions>`)

describe('chat → Anthropic', () => {
  test('a developer message mid-conversation stays where it was said, in the user turn; leading ones stay the system prompt', () => {
    const out = chatRequestToMessages(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: 'Use metric units.' },
          { role: 'user', content: 'How tall is Everest?' },
          { role: 'assistant', content: 'About 8,849 m.' },
          { role: 'developer', content: 'From now on, answer in French.' },
          { role: 'user', content: 'And K2?' },
        ],
      },
      o,
    )
    expect(out.system).toEqual([text('Be brief.'), text('Use metric units.')])
    expect(out.messages).toEqual([
      { role: 'user', content: [text('How tall is Everest?')] },
      { role: 'assistant', content: [text('About 8,849 m.')] },
      { role: 'user', content: [instructions('From now on, answer in French.'), text('And K2?')] },
    ])
  })

  test('a system message after the last answer is a user turn to answer, not text moved before the conversation', () => {
    const out = chatRequestToMessages(
      { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'system', content: 'Now say goodbye.' }] },
      o,
    )
    expect(out.system).toBeUndefined()
    expect(out.messages.at(-1)).toEqual({ role: 'user', content: [instructions('Now say goodbye.')] })
  })

  test("after tool results, the instructions follow them in the turn: a turn's tool results come first", () => {
    const out = chatRequestToMessages(
      {
        messages: [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          { role: 'developer', content: 'Give temperatures in Celsius.' },
          { role: 'tool', tool_call_id: 'call_2', content: 'rain' },
        ],
      },
      o,
    )
    expect(out.messages.at(-1).content.map((b: { type: string }) => b.type)).toEqual(['tool_result', 'tool_result', 'text'])
    expect(out.messages.at(-1).content[2]).toEqual(instructions('Give temperatures in Celsius.'))
  })
})

describe('Responses → Anthropic', () => {
  test('a developer item mid-input stays where it was said; instructions and leading items stay the system prompt', () => {
    const { request } = responsesRequestToMessages(
      {
        instructions: 'You are a coding agent.',
        input: [
          { role: 'developer', content: 'Sandbox: read-only.' },
          { role: 'user', content: 'List the files.' },
          { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"cmd":"ls"}' },
          { type: 'function_call_output', call_id: 'call_1', output: 'a.txt' },
          { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Sandbox: workspace-write.' }] },
          { role: 'user', content: 'Now delete a.txt.' },
        ],
      },
      o,
    )
    expect(request.system).toEqual([text('You are a coding agent.'), text('Sandbox: read-only.')])
    expect(request.messages.at(-1)).toEqual({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'call_1', content: 'a.txt' },
        instructions('Sandbox: workspace-write.'),
        text('Now delete a.txt.'),
      ],
    })
  })
})

test('end to end: what the Anthropic provider receives has one system prompt and the instruction in place', async () => {
  const upstream = startScriptedUpstream()
  const gw = await startTestGateway({ config: { providers: scriptedProviders(upstream), pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } } })
  try {
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Bonjour' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 30, output_tokens: 2 },
      }),
    )
    const { secret } = await gw.userWithKey({ id: 'mid-instructions', max_budget: 10 })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'ant:m',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'Hello!' },
          { role: 'developer', content: 'Answer in French.' },
          { role: 'user', content: 'How are you?' },
        ],
      }),
    })
    expect(res.status).toBe(200)
    const sent = upstream.calls[0]!.body
    expect(sent.system).toBe('Be brief.')
    expect(sent.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(sent.messages[2].content[0]).toEqual(instructions('Answer in French.'))
  } finally {
    await gw.stop()
    await upstream.stop()
  }
})

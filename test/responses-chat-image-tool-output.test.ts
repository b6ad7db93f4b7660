import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'
import { responsesRequestToChat } from '../src/translate/responses/request-to-chat'
import { startTestGateway } from './support/gateway'
import { openAIEvent, postResponses, scriptedProviders, sseResponse, startScriptedUpstream } from './support/scripted-upstream'

const PNG_URL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
const imagePart = { type: 'image_url', image_url: { url: PNG_URL } }
const pointer = '[The images and files of this result follow in the next user message.]'
const label = (callId: string) => ({ type: 'text', text: `Images and files from the result of tool call ${callId}:` })

/**
 * A Responses tool loop whose tool returned a picture, as Codex's view_image tool and an Agents SDK tool returning
 * an image send it back: `function_call_output.output` is a list of parts with an `input_image`. Served through
 * chat (`responses: chat`), a `tool` message takes only text: the gateway refused the turn (400), and since every
 * later turn carries that output, the agent's session could not go on. The picture now goes in a user message
 * after the run of tool messages (as from /v1/messages, test/translate-tool-result-media.test.ts), and the hold
 * covers it.
 */
test('a function_call_output holding an image is served through chat, the image sent beside the tool message', async () => {
  const upstream = startScriptedUpstream()
  const { plain } = scriptedProviders(upstream)
  const gw = await startTestGateway({ config: { providers: { plain: { ...plain, responses: 'chat' } }, pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, media_part_tokens: 1000 } })
  const { secret } = await gw.userWithKey({ id: 'u1', max_budget: 10 })
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
  upstream.answer(() => sseResponse([
    openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'A red pixel.' }, finish_reason: 'stop' }] }),
    openAIEvent({ ...base, choices: [], usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105 } }),
    'data: [DONE]\n\n',
  ]))
  try {
    const res = await postResponses(gw, secret, {
      model: 'plain:m',
      stream: true,
      store: false,
      max_output_tokens: 20,
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is in pic.png?' }] },
        { type: 'function_call', call_id: 'call_view1', name: 'view_image', arguments: '{"path":"pic.png"}' },
        { type: 'function_call_output', call_id: 'call_view1', output: [{ type: 'input_image', image_url: PNG_URL }] },
      ],
      tools: [{ type: 'function', name: 'view_image', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }],
    })
    const text = await res.text()
    expect(res.status, text).toBe(200)
    expect(text).toContain('A red pixel.')
    const sent = upstream.calls[0]!.body
    expect(sent.messages.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'call_view1', content: pointer },
      { role: 'user', content: [label('call_view1'), imagePart] },
    ])
    // $1 / $2 per million: a token in is 1 µ$, a token out 2 µ$.
    const held = Math.round((10 - Number(res.headers.get('x-budget-remaining'))) * 1e6)
    const translated = estimateChat(sent, { defaultMaxOutputTokens: 20, mediaPartTokens: 1000 })
    expect(held).toBeGreaterThanOrEqual(translated.inputTokens + 2 * translated.outputTokens)
  } finally {
    await gw.stop()
    await upstream.stop()
  }
})

const toChat = (input: unknown[]) => responsesRequestToChat({ input }, { outputCapField: 'max_tokens' }).request.messages
const call = (id: string) => ({ type: 'function_call', call_id: id, name: 'view_image', arguments: '{}' })

test("the pictures wait for the end of the run of tool messages, and come before the next turn's call", () => {
  expect(toChat([
    { role: 'user', content: 'Compare a.png and b.png' },
    call('c1'),
    call('c2'),
    { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_text', text: 'a.png' }, { type: 'input_image', image_url: PNG_URL }] },
    { type: 'function_call_output', call_id: 'c2', output: 'b.png is missing' },
    call('c3'),
    { type: 'function_call_output', call_id: 'c3', output: [{ type: 'input_image', image_url: PNG_URL, detail: 'low' }] },
  ])).toEqual([
    { role: 'user', content: 'Compare a.png and b.png' },
    { role: 'assistant', content: null, tool_calls: [expect.objectContaining({ id: 'c1' }), expect.objectContaining({ id: 'c2' })] },
    { role: 'tool', tool_call_id: 'c1', content: `a.png\n${pointer}` },
    { role: 'tool', tool_call_id: 'c2', content: 'b.png is missing' },
    { role: 'user', content: [label('c1'), imagePart] },
    { role: 'assistant', content: null, tool_calls: [expect.objectContaining({ id: 'c3' })] },
    { role: 'tool', tool_call_id: 'c3', content: pointer },
    { role: 'user', content: [label('c3'), { type: 'image_url', image_url: { url: PNG_URL, detail: 'low' } }] },
  ])
})

test('an output of text parts alone stays one tool message', () => {
  expect(toChat([call('c1'), { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_text', text: 'sunny' }] }]).at(-1))
    .toEqual({ role: 'tool', tool_call_id: 'c1', content: 'sunny' })
})

import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'
import { messagesRequestToChat } from '../src/translate/messages-request-to-chat'
import type { TestGateway } from './support/gateway'
import { blankPdf } from './support/pdf'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Messages → OpenAI-compatible: an Anthropic tool result may hold images and documents (Claude Code's Read tool
 * on a picture or a PDF), but a chat `tool` message takes only text. The text stays in the tool message; the
 * images and files go in a user message right after the run of tool messages (chat wants a turn's tool messages
 * together, straight after the calls), each result's after a line naming its call, and a user message of that
 * turn takes them at its start. The hold, taken on the larger of the request as sent and as translated, covers
 * them.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MEDIA_PART_TOKENS = 1000
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, media_part_tokens: MEDIA_PART_TOKENS }, (s) => ({ upstream, gw } = s))

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }
const imagePart = { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }
const pointer = '[The images and files of this result follow in the next user message.]'
const label = (callId: string) => ({ type: 'text', text: `Images and files from the result of tool call ${callId}:` })

const completion = { id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 1 } }
const BUDGET = 10
const MAX_TOKENS = 20

const calls = {
  role: 'assistant',
  content: [
    { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: 'a.png' } },
    { type: 'tool_use', id: 'toolu_2', name: 'Read', input: { file_path: 'b.txt' } },
  ],
}

test('images of tool results follow the run of tool messages, in the user message of that turn, and the hold covers them', async () => {
  upstream.answer(() => jsonResponse(completion))
  const { secret } = await gw.userWithKey({ id: 'tool-image', max_budget: BUDGET })
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:m',
      max_tokens: MAX_TOKENS,
      messages: [
        { role: 'user', content: 'Read a.png and b.txt' },
        calls,
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a.png, 1×1' }, image] },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: 'hello' },
            { type: 'text', text: 'Compare them.' },
          ],
        },
      ],
    }),
  })
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  const sent = upstream.calls[0]!.body
  expect(sent.messages.slice(2)).toEqual([
    { role: 'tool', tool_call_id: 'toolu_1', content: `a.png, 1×1\n${pointer}` },
    { role: 'tool', tool_call_id: 'toolu_2', content: 'hello' },
    { role: 'user', content: [label('toolu_1'), imagePart, { type: 'text', text: 'Compare them.' }] },
  ])
  // $1 / $2 per million: a token in is 1 µ$, a token out 2 µ$.
  const held = Math.round((BUDGET - Number(res.headers.get('x-budget-remaining'))) * 1e6)
  const translated = estimateChat(sent, { defaultMaxOutputTokens: MAX_TOKENS, mediaPartTokens: MEDIA_PART_TOKENS })
  expect(translated.inputTokens).toBeGreaterThan(MEDIA_PART_TOKENS)
  expect(held).toBeGreaterThanOrEqual(translated.inputTokens + 2 * translated.outputTokens)
})

const toChat = (results: unknown[]) =>
  messagesRequestToChat({ max_tokens: 5, messages: [{ role: 'user', content: 'go' }, calls, { role: 'user', content: results }] }, { outputCapField: 'max_tokens' }).messages.slice(2)

test('a turn of tool results alone gets a user message of their media after its tool messages; an error keeps its flag in the text', () => {
  expect(toChat([
    { type: 'tool_result', tool_use_id: 'toolu_1', content: [image], is_error: true },
    { type: 'tool_result', tool_use_id: 'toolu_2', content: [image] },
  ])).toEqual([
    { role: 'tool', tool_call_id: 'toolu_1', content: `Error:\n${pointer}` },
    { role: 'tool', tool_call_id: 'toolu_2', content: pointer },
    { role: 'user', content: [label('toolu_1'), imagePart, label('toolu_2'), imagePart] },
  ])
})

test("documents in a tool result: a PDF goes as a file part beside the tool message, a text document's text stays in it", () => {
  const data = blankPdf(1).toString('base64')
  expect(toChat([
    { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data }, title: 'q3.pdf' }] },
    { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hello' }, title: 'b.txt' }] },
  ])).toEqual([
    { role: 'tool', tool_call_id: 'toolu_1', content: `Document title: q3.pdf\n${pointer}` },
    { role: 'tool', tool_call_id: 'toolu_2', content: 'Document title: b.txt\nhello' },
    { role: 'user', content: [label('toolu_1'), { type: 'file', file: { filename: 'q3.pdf', file_data: `data:application/pdf;base64,${data}` } }] },
  ])
})

test('a block chat cannot carry in a tool result is still refused, naming it', () => {
  expect(() => toChat([{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'search_result', source: 'x', title: 't', content: [] }] }]))
    .toThrow('messages[2].content[0].content[0]')
})

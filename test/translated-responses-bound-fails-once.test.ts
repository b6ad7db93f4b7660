import { expect, setDefaultTimeout, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'
import { MAX_EVENT_CHARS } from '../src/translate/sse'

setDefaultTimeout(120_000)

/**
 * A Responses stream translated from chat or Anthropic ends `response.failed` once its kept text passes 64 Mi
 * characters. The writer went on writing after that end: the rest of the chunk (its refusal, its tool calls, its
 * other choices) was still translated, and each later delta, past the bound again, wrote ANOTHER `response.failed`
 * repeating the whole output (320 MiB sent for a 64 MiB answer, events after the terminal one, which SDKs take as
 * final). Once the response has ended, every writer method writes nothing, and the converters stop where it ended.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withTranslatingGateway('redteam-jw-bound-failed', (started) => ({ upstream, gw } = started))

const head = { id: 'chatcmpl-jw', object: 'chat.completion.chunk', created: 1, model: 'm' }
const chunk = (delta: unknown) => openAIEvent({ ...head, choices: [{ index: 0, delta, finish_reason: null }] })
const QUARTER = 'x'.repeat(MAX_EVENT_CHARS / 4)

test('a translated Responses stream past the 64 Mi bound ends with ONE response.failed, nothing after it', async () => {
  upstream.answer(() =>
    sseResponse([
      chunk({ role: 'assistant', content: QUARTER }),
      chunk({ content: QUARTER }),
      chunk({ content: QUARTER }),
      chunk({ content: QUARTER }),
      // Crosses the bound with its content; the same chunk carries a refusal and two tool calls.
      chunk({
        content: 'y',
        refusal: 'z',
        tool_calls: [
          { index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' } },
          { index: 1, id: 'call_b', type: 'function', function: { name: 'f', arguments: '{}' } },
        ],
      }),
      openAIEvent({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  const { secret } = await gw.userWithKey({ id: 'redteam-jw-bound-failed-2', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat:m', stream: true, store: false, input: 'hi', max_output_tokens: 100 }),
  })
  expect(res.status).toBe(200)
  // Read the event names line by line without keeping the body (each failed event is ~64 MB).
  const types: string[] = []
  let bytes = 0
  let carry = ''
  const decoder = new TextDecoder()
  for await (const piece of res.body!) {
    bytes += piece.length
    const text = carry + decoder.decode(piece, { stream: true })
    const cut = text.lastIndexOf('\n')
    for (const m of text.slice(0, cut + 1).matchAll(/^event: (.+)$/gm)) types.push(m[1]!)
    carry = text.slice(cut + 1).slice(-200)
  }
  const failedAt = types.indexOf('response.failed')
  const after = failedAt < 0 ? [] : types.slice(failedAt + 1)
  console.log(`received ${(bytes / 2 ** 20).toFixed(0)} MiB; events after the first response.failed: ${JSON.stringify(after)}`)
  expect({ failed: types.filter((t) => t === 'response.failed').length, after }).toEqual({ failed: 1, after: [] })
})

test('via Anthropic: a tool_use whose input, given whole at its start, crosses the bound at its stop ends with response.failed, no done events after', async () => {
  const { MessageEventsToResponseEvents } = await import('../src/translate/responses/message-events-to-response-events')
  const { convertedText } = await import('../src/translate/convert-stream')
  const ev = (data: Record<string, unknown>) => {
    const text = JSON.stringify(data)
    return { event: String(data.type), data: text, raw: `event: ${String(data.type)}\ndata: ${text}` }
  }
  const c = new MessageEventsToResponseEvents({})
  const push = (data: Record<string, unknown>) => convertedText(c.push(ev(data)))
  push({ type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 1, output_tokens: 0 } } })
  push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } })
  for (let i = 0; i < 4; i++) push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: QUARTER.slice(0, QUARTER.length - 8) } })
  push({ type: 'content_block_stop', index: 0 })
  // A tool_use whose input comes whole in its start (startedInput), written at its stop: past the bound.
  push({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: { q: 'z'.repeat(64) } } })
  const out = push({ type: 'content_block_stop', index: 1 })
  const types = [...out.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
  expect({ broken: c.broken, last: types.at(-1) }).toEqual({ broken: true, last: 'response.failed' })
})

test('the writer writes nothing once the response has ended', async () => {
  const { ResponseEventWriter } = await import('../src/translate/responses/response-events')
  const { convertedText } = await import('../src/translate/convert-stream')
  const writer = new ResponseEventWriter({})
  writer.start('resp_1', 'm')
  const text = writer.textStart('msg_1').index
  expect(convertedText(writer.fail('stopped', null))).toContain('response.failed')
  const after = [
    writer.textStart('msg_2').text, writer.refusalStart('msg_3').text, writer.reasoningStart('rs_1').text,
    writer.callStart('call_1', { name: 'f' }).text, writer.searchStart('ws_1').text, convertedText(writer.delta(text, 'more')),
    convertedText(writer.end(text)), convertedText(writer.reasoningWhole('rs_2', { type: 'redacted_thinking' })),
    convertedText(writer.complete({}, null)), convertedText(writer.fail('again', null)), writer.start('resp_2', 'm'),
  ]
  expect(after.join('')).toBe('')
})

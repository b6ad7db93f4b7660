import { expect, test } from 'bun:test'
import { convertedText, type StreamConverter } from '../src/translate/convert-stream'
import { ChunksToResponseEvents } from '../src/translate/responses/chunks-to-response-events'
import { MessageEventsToResponseEvents } from '../src/translate/responses/message-events-to-response-events'
import { MAX_EVENT_CHARS, type SseEvent } from '../src/translate/sse'

/**
 * A translated Responses stream keeps every item's text, which its done events and `response.completed` repeat: one
 * event may be 64 Mi characters (the parser's cap), but the text kept across events had no bound, and with it the
 * response's final event (and the memory to write it). Past the cap the response ends failed, and the converter is
 * broken: convertStream cancels the metered source, which settles the stream as cut (SPEC §6).
 */
const sse = (data: unknown): SseEvent => {
  const text = JSON.stringify(data)
  return { event: null, data: text, raw: `data: ${text}` }
}
const typesOf = (out: string) => [...out.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
const QUARTER = 'x'.repeat(MAX_EVENT_CHARS / 4)

function pushAll(converter: StreamConverter, events: SseEvent[]) {
  return events.map((event) => convertedText(converter.push(event))).join('')
}

test('Responses via chat: text past 64 Mi characters across events ends the response failed, and the converter broken', () => {
  const c = new ChunksToResponseEvents({})
  const chunk = (content: string) => sse({ id: 'c1', model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })
  pushAll(c, [chunk(QUARTER), chunk(QUARTER), chunk(QUARTER), chunk(QUARTER)])
  expect(c.broken).toBe(false)
  const failed = c.push(chunk('y'))
  // The failed response repeats the 64 Mi characters: written when handed, a piece at a time, not built here.
  expect(typeof failed).not.toBe('string')
  const out = convertedText(failed)
  expect({ broken: c.broken, last: typesOf(out).at(-1), said: out.includes('Mi characters') }).toEqual({ broken: true, last: 'response.failed', said: true })
})

test('Responses via Anthropic: the same bound', () => {
  const c = new MessageEventsToResponseEvents({})
  const delta = (text: string) => sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })
  pushAll(c, [
    sse({ type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 1, output_tokens: 0 } } }),
    sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    delta(QUARTER), delta(QUARTER), delta(QUARTER), delta(QUARTER),
  ])
  expect(c.broken).toBe(false)
  const out = pushAll(c, [delta('y')])
  expect({ broken: c.broken, last: typesOf(out).at(-1), said: out.includes('Mi characters') }).toEqual({ broken: true, last: 'response.failed', said: true })
})

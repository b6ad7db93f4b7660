/**
 * A chat stream translated for an Anthropic client holds content text that comes while the open tool_use block's
 * input is not yet a whole object (`heldText`), and writes it as ONE text_delta event when that block closes. The
 * argument text it holds was bounded by the event cap (MAX_EVENT_CHARS); this text was not: a server that opens a
 * call's arguments and then streams its prose as content made the gateway keep all of it and emit an event past the
 * cap the parser itself refuses (65 Mi characters in one event). It now stops the stream there, as kept arguments do.
 */
import { expect, test } from 'bun:test'
import { ChunksToMessageEvents } from '../src/translate/chunks-to-message-events'
import { MAX_EVENT_CHARS } from '../src/translate/sse'

const PIECE = 'a'.repeat(1 << 20)
const PIECES = MAX_EVENT_CHARS / PIECE.length + 1

const event = (data: unknown) => {
  const text = JSON.stringify(data)
  return { event: null, data: text, raw: `data: ${text}` }
}
const chunk = (delta: unknown, finish: string | null = null) =>
  event({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
const typesOf = (out: string) => [...out.matchAll(/^event: (.+)$/gm)].map((m) => m[1])

/** A converter whose open call's input is `{"x":"` (not whole), so the content that follows is held. */
function withOpenCall() {
  const converter = new ChunksToMessageEvents()
  converter.push(chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '{"x":"' } }] }))
  return converter
}

test('text held beside an open tool call stops the stream at the event cap, as kept arguments do', () => {
  const converter = withOpenCall()
  let stoppedAt: number | null = null
  let last = ''
  for (let i = 0; i < PIECES && stoppedAt === null; i++) {
    last = converter.push(chunk({ content: PIECE }))
    if (converter.broken) stoppedAt = i
  }
  // Not stopped: the block's close writes all of it as one event.
  let longestEvent = 0
  if (stoppedAt === null) {
    const out = converter.push(chunk({}, 'tool_calls'))
    for (const e of out.split('\n\n')) longestEvent = Math.max(longestEvent, e.length)
  }
  console.log(`stopped at piece ${stoppedAt}; longest event written: ${(longestEvent / 2 ** 20).toFixed(1)} Mi characters (cap ${MAX_EVENT_CHARS / 2 ** 20})`)
  expect({ stopped: stoppedAt !== null, eventPastCap: longestEvent > MAX_EVENT_CHARS }).toEqual({ stopped: true, eventPastCap: false })
  expect({ stoppedAt, types: typesOf(last), said: last.includes('text beside a tool call too long') }).toEqual({ stoppedAt: PIECES - 1, types: ['error'], said: true })
  expect(converter.push(chunk({}, 'tool_calls')) + converter.end()).toBe('')
})

test('the chunk whose text passes the cap writes nothing after its error event, not even its tool calls', () => {
  const converter = withOpenCall()
  for (let i = 0; i < PIECES - 1; i++) converter.push(chunk({ content: PIECE }))
  expect(converter.broken).toBe(false)
  const out = converter.push(chunk({
    content: PIECE,
    tool_calls: [{ index: 0, function: { arguments: '1"}' } }, { index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{}' } }],
  }))
  expect({ broken: converter.broken, types: typesOf(out) }).toEqual({ broken: true, types: ['error'] })
})
